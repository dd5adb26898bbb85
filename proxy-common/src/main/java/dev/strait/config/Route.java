package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
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
 * @param sni targets chosen by the TLS server name the client asks for; empty: no SNI routing. With it, {@code
 *     backends} (the default target) may be empty, and clients that match no target are then closed. With {@code
 *     tls} too, the name is the one of the handshake Strait terminated
 * @param protocol what the clients speak first: {@code postgres} makes SNI routing answer PostgreSQL's SSLRequest,
 *     {@code tls} terminate PostgreSQL's TLS (its preamble answered first; {@code tls.alpn} then defaults to {@code
 *     [postgresql]}), and {@code backendTls} send an SSLRequest before the backend's handshake
 * @param accessLog the access log of this route's connections (the top level's, overridden key by key)
 * @param capture a traffic capture the route starts with, if any
 * @param proxyProtocol the PROXY protocol header accepted from clients and sent to backends
 * @param tls TLS terminated for clients, if configured
 * @param backendTls TLS to the backends, if configured (a backend may replace it with its own)
 * @param deferAccept TCP_DEFER_ACCEPT on the route's listener (the kernel hands a connection over only once the
 *     client has sent data, or the time has passed); zero: off. Only for protocols where the client speaks first
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
        List<SniTarget> sni,
        RouteProtocol protocol,
        AccessLog accessLog,
        Optional<RouteCapture> capture,
        ProxyProtocol proxyProtocol,
        Optional<TlsConfig> tls,
        Optional<BackendTls> backendTls,
        Duration deferAccept) {

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
    public static final ConfigKey<RouteProtocol> PROTOCOL =
            ConfigKey.of("protocol", "tcp | postgres", "tcp", RouteProtocol::parse);
    public static final ConfigKey<Void> CAPTURE = ConfigKey.readByLoader("capture", "mapping", "off");
    public static final ConfigKey<Duration> DEFER_ACCEPT =
            ConfigKey.of("deferAccept", "duration; 0s or off disables", "0s", Route::deferAcceptDuration);

    /** The longest {@code deferAccept}: a client that says nothing for longer is not worth holding in the kernel. */
    public static final Duration MAX_DEFER_ACCEPT = Duration.ofHours(1);

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
                    List.<ConfigKey<?>>of(PROTOCOL, DEFER_ACCEPT),
                    SniTarget.KEYS,
                    AccessLog.KEYS,
                    List.<ConfigKey<?>>of(CAPTURE),
                    RouteCapture.KEYS,
                    ProxyProtocol.KEYS,
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
        requireNonNull(accessLog, "accessLog");
        requireNonNull(capture, "capture");
        requireNonNull(proxyProtocol, "proxyProtocol");
        requireNonNull(tls, "tls");
        requireNonNull(backendTls, "backendTls");
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw ConfigException.badValue("name", name, "1-64 letters, digits, '.', '_' or '-'");
        }
        requireNonNull(protocol, "protocol");
        sni = List.copyOf(requireNonNull(sni, "sni"));
        Set<String> names = new HashSet<>();
        for (SniTarget target : sni) {
            for (String serverName : target.serverNames()) {
                if (!names.add(serverName)) {
                    throw ConfigException.badValue("sni", serverName, "each server name in one entry only");
                }
            }
        }
        if (tls.isPresent() && protocol == RouteProtocol.POSTGRES) {
            tls = Optional.of(postgresAlpn(tls.get()));
        }
        backends = List.copyOf(requireNonNull(backends, "backends"));
        if (backends.isEmpty() && sni.isEmpty()) {
            throw new ConfigException("backends", "at least one backend is required for route " + name);
        }
        if (retries < 0 || retries > 100) {
            throw ConfigException.badValue("retries", retries, "0 to 100");
        }
        requireNonNull(deferAccept, "deferAccept");
        if (deferAccept.isNegative() || deferAccept.compareTo(MAX_DEFER_ACCEPT) > 0) {
            throw ConfigException.badValue(
                    DEFER_ACCEPT.name(), ConfigValues.format(deferAccept), "0s (off) to 1h, or off");
        }
    }

    /** A duration, or {@code off} (YAML 1.1 reads an unquoted {@code off} as {@code false}): zero. */
    private static Duration deferAcceptDuration(String key, String text) {
        String word = text.trim().toLowerCase(Locale.ROOT);
        return word.equals("off") || word.equals("false") ? Duration.ZERO : ConfigValues.duration(key, text);
    }

    /** Whether the listener defers accepting until the client has sent data (TCP_DEFER_ACCEPT). */
    public boolean defersAccept() {
        return !deferAccept.isZero();
    }

    /** {@code deferAccept} in whole seconds, rounded up, as TCP_DEFER_ACCEPT takes it; 0 when off. */
    public int deferAcceptSeconds() {
        return (int) (deferAccept.toSeconds() + (deferAccept.toNanosPart() > 0 ? 1 : 0));
    }

    /** PostgreSQL's ALPN name (PostgreSQL 17's direct TLS requires it to be negotiated). */
    public static final String POSTGRES_ALPN = "postgresql";

    /**
     * {@code tls} on a {@code protocol: postgres} route: ALPN offers {@code postgresql} when none is configured, and a
     * configured list must hold it (libpq 17 and pgjdbc with direct TLS send it; libpq requires it selected).
     */
    private static TlsConfig postgresAlpn(TlsConfig tls) {
        if (tls.alpn().isEmpty()) {
            return new TlsConfig(
                    tls.certificates(),
                    tls.protocols(),
                    tls.clientAuth(),
                    tls.clientCa(),
                    List.of(POSTGRES_ALPN),
                    tls.handshakeTimeout(),
                    tls.provider(),
                    tls.allowExpired());
        }
        if (!tls.alpn().contains(POSTGRES_ALPN)) {
            throw ConfigException.badValue(
                    "tls.alpn",
                    tls.alpn(),
                    "with protocol: postgres, a list that holds " + POSTGRES_ALPN + " (or none: it is the default)");
        }
        return tls;
    }

    /** A route without SNI routing, access log overrides, a capture, the PROXY protocol or TLS: the common case. */
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
                List.of(),
                RouteProtocol.TCP,
                AccessLog.DEFAULTS,
                Optional.empty(),
                ProxyProtocol.OFF,
                Optional.empty(),
                Optional.empty(),
                Duration.ZERO);
    }

    /** Whether clients are routed by what they say first (a ClientHello's server name, PostgreSQL's preamble). */
    public boolean routesBySni() {
        return !sni.isEmpty();
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
                sni,
                protocol,
                accessLog,
                capture,
                proxyProtocol,
                clientSide,
                backendSide,
                deferAccept);
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
                sni,
                protocol,
                accessLog,
                capture,
                proxyProtocol,
                tls,
                backendTls,
                deferAccept);
    }

    /** The PROXY header sent to {@code backend}: its own setting, else the route's. */
    public ProxyHeaderVersion sendProxyProtocol(BackendSpec backend) {
        return backend.sendProxyProtocol().orElse(proxyProtocol.send());
    }
}
