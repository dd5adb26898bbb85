package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One listener and how it reaches its backends.
 *
 * @param name a label used in logs and metrics; letters, digits, '.', '_' and '-'
 * @param listen the address to accept clients on (port 0 lets the kernel choose)
 * @param backends the backends; a host name may resolve to several addresses
 * @param balance how a backend is picked for a new connection
 * @param healthCheck active health checks, if configured
 * @param passiveCheck passive health from failed client connects
 * @param retries further backends tried when a connect fails (before any client byte was forwarded)
 * @param timeouts connect, idle, half-close, queue and lifetime timeouts
 * @param writeBufferWaterMark when a side stops being writable, and when it is writable again
 * @param limits connection and rate limits
 * @param access which client addresses are accepted
 * @param tcpKeepalive TCP keepalive on the client's and the backend's socket
 * @param tls TLS terminated for clients, if configured
 * @param backendTls TLS to the backends, if configured (a backend may replace it with its own)
 */
public record Route(
        String name,
        HostAndPort listen,
        List<BackendSpec> backends,
        BalanceAlgorithm balance,
        Optional<HealthCheck> healthCheck,
        PassiveCheck passiveCheck,
        int retries,
        Timeouts timeouts,
        WaterMark writeBufferWaterMark,
        Limits limits,
        AccessList access,
        TcpKeepalive tcpKeepalive,
        Optional<TlsConfig> tls,
        Optional<BackendTls> backendTls) {

    public static final ConfigKey<Void> NAME =
            ConfigKey.readByLoader("name", "1-64 letters, digits, '.', '_' or '-'", "route-N");
    public static final ConfigKey<HostAndPort> LISTEN = ConfigKey.required("listen", "host:port", HostAndPort::parse);
    public static final ConfigKey<Void> BACKENDS =
            ConfigKey.readByLoader("backends", "list of host:port or mappings", ConfigKey.REQUIRED);
    public static final ConfigKey<BalanceAlgorithm> BALANCE = ConfigKey.of(
            "balance",
            "round-robin | least-connections | random | source-hash",
            "least-connections",
            BalanceAlgorithm::parse);
    public static final ConfigKey<Void> HEALTH_CHECK = ConfigKey.readByLoader("healthCheck", "mapping", "off");
    public static final ConfigKey<Void> PASSIVE_CHECK = ConfigKey.readByLoader("passiveCheck", "mapping", "off");
    public static final ConfigKey<Integer> RETRIES = ConfigKey.of("retries", "integer", "2", ConfigValues::integer);

    /** Every key of a route, those of its blocks and backends included. */
    public static final List<ConfigKey<?>> KEYS = Stream.of(
                    List.<ConfigKey<?>>of(NAME, LISTEN, BACKENDS, BALANCE, HEALTH_CHECK, PASSIVE_CHECK, RETRIES),
                    BackendSpec.KEYS,
                    HealthCheck.KEYS,
                    PassiveCheck.KEYS,
                    Timeouts.KEYS,
                    WaterMark.KEYS,
                    Limits.KEYS,
                    AccessList.KEYS,
                    TcpKeepalive.KEYS,
                    TlsConfig.KEYS,
                    BackendTls.KEYS)
            .flatMap(List::stream)
            .toList();

    public static final int DEFAULT_RETRIES = RETRIES.defaultValue();

    public Route {
        requireNonNull(name, "name");
        requireNonNull(listen, "listen");
        requireNonNull(balance, "balance");
        requireNonNull(healthCheck, "healthCheck");
        requireNonNull(passiveCheck, "passiveCheck");
        requireNonNull(timeouts, "timeouts");
        requireNonNull(writeBufferWaterMark, "writeBufferWaterMark");
        requireNonNull(limits, "limits");
        requireNonNull(access, "access");
        requireNonNull(tcpKeepalive, "tcpKeepalive");
        requireNonNull(tls, "tls");
        requireNonNull(backendTls, "backendTls");
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw ConfigException.badValue("name", name, "1-64 letters, digits, '.', '_' or '-'");
        }
        backends = List.copyOf(requireNonNull(backends, "backends"));
        if (backends.isEmpty()) {
            throw new ConfigException("backends", "at least one backend is required for route " + name);
        }
        if (retries < 0 || retries > 100) {
            throw ConfigException.badValue("retries", retries, "0 to 100");
        }
    }

    /** A route without TLS on either side. */
    public Route(
            String name,
            HostAndPort listen,
            List<BackendSpec> backends,
            BalanceAlgorithm balance,
            Optional<HealthCheck> healthCheck,
            PassiveCheck passiveCheck,
            int retries,
            Timeouts timeouts,
            WaterMark writeBufferWaterMark,
            Limits limits,
            AccessList access,
            TcpKeepalive tcpKeepalive) {
        this(
                name,
                listen,
                backends,
                balance,
                healthCheck,
                passiveCheck,
                retries,
                timeouts,
                writeBufferWaterMark,
                limits,
                access,
                tcpKeepalive,
                Optional.empty(),
                Optional.empty());
    }

    /** Whether any side of this route speaks TLS (then no direction may splice). */
    public boolean anyTls() {
        return tls.isPresent()
                || backendTls.map(BackendTls::enabled).orElse(false)
                || backends.stream()
                        .anyMatch(b -> b.backendTls().map(BackendTls::enabled).orElse(false));
    }

    /** The TLS settings for {@code backend}: its own, else the route's; empty when that one speaks plain TCP. */
    public Optional<BackendTls> backendTlsFor(BackendSpec backend) {
        Optional<BackendTls> own = backend.backendTls().isPresent() ? backend.backendTls() : backendTls;
        return own.filter(BackendTls::enabled);
    }

    /** This route with TLS settings for either side. */
    public Route withTls(Optional<TlsConfig> clientSide, Optional<BackendTls> backendSide) {
        return new Route(
                name,
                listen,
                backends,
                balance,
                healthCheck,
                passiveCheck,
                retries,
                timeouts,
                writeBufferWaterMark,
                limits,
                access,
                tcpKeepalive,
                clientSide,
                backendSide);
    }

    /**
     * A route with defaults for everything but its name, listener and backends: the default balance
     * (least-connections, equals taking turns) spreads new connections over all the backends.
     */
    public static Route of(String name, HostAndPort listen, List<HostAndPort> backends) {
        return new Route(
                name,
                listen,
                backends.stream().map(BackendSpec::of).toList(),
                BALANCE.defaultValue(),
                Optional.empty(),
                PassiveCheck.DISABLED,
                DEFAULT_RETRIES,
                Timeouts.DEFAULTS,
                WaterMark.DEFAULT,
                Limits.NONE,
                AccessList.OPEN,
                TcpKeepalive.DEFAULTS);
    }

    /** This route with other timeouts. */
    public Route withTimeouts(Timeouts other) {
        return new Route(
                name,
                listen,
                backends,
                balance,
                healthCheck,
                passiveCheck,
                retries,
                other,
                writeBufferWaterMark,
                limits,
                access,
                tcpKeepalive,
                tls,
                backendTls);
    }
}
