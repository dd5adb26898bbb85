package dev.strait.server.support;

import static java.util.Objects.requireNonNull;

import dev.strait.config.AccessList;
import dev.strait.config.AccessLog;
import dev.strait.config.BackendSpec;
import dev.strait.config.BackendTls;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.Route;
import dev.strait.config.RouteCapture;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import dev.strait.config.TcpKeepalive;
import dev.strait.config.Timeouts;
import dev.strait.config.TlsConfig;
import dev.strait.config.WaterMark;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Routes for tests, written as a builder instead of Route's twelve positional arguments:
 * {@code TestRoutes.route("test").backends("127.0.0.1:8080").timeouts(t).build()}.
 *
 * <p>Defaults differ from the config file's on purpose: listen on 127.0.0.1, port 0, and balance round-robin, so
 * a test knows which backend the first connection reaches. Everything else is the config default.
 */
public final class TestRoutes {
    private TestRoutes() {}

    /** A builder for a route named {@code name} on 127.0.0.1:0, round-robin, with config defaults otherwise. */
    public static Builder route(String name) {
        return new Builder(name);
    }

    /** A route on 127.0.0.1:{@code port} to one backend, round-robin, with no active health check. */
    public static Route oneBackend(
            String name, int port, String backend, PassiveCheck passive, Timeouts timeouts, Limits limits) {
        return route(name)
                .port(port)
                .backends(backend)
                .passiveCheck(passive)
                .timeouts(timeouts)
                .limits(limits)
                .build();
    }

    /** A builder starting from every field of {@code route}. */
    public static Builder from(Route route) {
        Builder b = new Builder(route.name());
        b.listen = route.listen();
        b.backends = route.backends();
        b.balance = route.balance();
        b.healthCheck = route.healthCheck();
        b.passiveCheck = route.passiveCheck();
        b.retries = route.retries();
        b.timeouts = route.timeouts();
        b.waterMark = route.writeBufferWaterMark();
        b.limits = route.limits();
        b.access = route.access();
        b.tcpKeepalive = route.tcpKeepalive();
        b.sni = route.sni();
        b.protocol = route.protocol();
        b.accessLog = route.accessLog();
        b.capture = route.capture();
        b.proxyProtocol = route.proxyProtocol();
        b.deferAccept = route.deferAccept();
        return b;
    }

    /** Collects a route's fields; {@link #build()} validates them as the config loader would. */
    public static final class Builder {
        private Optional<TlsConfig> tls = Optional.empty();
        private Optional<BackendTls> backendTls = Optional.empty();
        private String name;
        private HostAndPort listen = new HostAndPort("127.0.0.1", 0);
        private List<BackendSpec> backends = List.of();
        private BalanceAlgorithm balance = BalanceAlgorithm.ROUND_ROBIN;
        private Optional<HealthCheck> healthCheck = Optional.empty();
        private PassiveCheck passiveCheck = PassiveCheck.DISABLED;
        private int retries = Route.DEFAULT_RETRIES;
        private Timeouts timeouts = Timeouts.DEFAULTS;
        private WaterMark waterMark = WaterMark.DEFAULT;
        private Limits limits = Limits.NONE;
        private AccessList access = AccessList.OPEN;
        private TcpKeepalive tcpKeepalive = TcpKeepalive.DEFAULTS;
        private List<SniTarget> sni = List.of();
        private RouteProtocol protocol = RouteProtocol.TCP;
        private AccessLog accessLog = AccessLog.DEFAULTS;
        private Optional<RouteCapture> capture = Optional.empty();
        private ProxyProtocol proxyProtocol = ProxyProtocol.OFF;
        private Duration deferAccept = Duration.ZERO;

        private Builder(String name) {
            this.name = requireNonNull(name, "name");
        }

        public Builder name(String name) {
            this.name = requireNonNull(name, "name");
            return this;
        }

        public Builder listen(HostAndPort listen) {
            this.listen = requireNonNull(listen, "listen");
            return this;
        }

        /** Listens on 127.0.0.1 and this port. */
        public Builder port(int port) {
            return listen(new HostAndPort("127.0.0.1", port));
        }

        /** Backends as {@code host:port} strings, weight 1, no cap, not backups. */
        public Builder backends(String... addresses) {
            return backendSpecs(Stream.of(addresses)
                    .map(a -> BackendSpec.of(HostAndPort.parse("backend", a)))
                    .toList());
        }

        public Builder backends(HostAndPort... addresses) {
            return backendSpecs(Stream.of(addresses).map(BackendSpec::of).toList());
        }

        public Builder backendSpecs(List<BackendSpec> specs) {
            this.backends = List.copyOf(specs);
            return this;
        }

        public Builder balance(BalanceAlgorithm balance) {
            this.balance = requireNonNull(balance, "balance");
            return this;
        }

        /** Active checks; {@code null} turns them off. */
        public Builder healthCheck(HealthCheck check) {
            this.healthCheck = Optional.ofNullable(check);
            return this;
        }

        public Builder passiveCheck(PassiveCheck passiveCheck) {
            this.passiveCheck = requireNonNull(passiveCheck, "passiveCheck");
            return this;
        }

        public Builder retries(int retries) {
            this.retries = retries;
            return this;
        }

        public Builder timeouts(Timeouts timeouts) {
            this.timeouts = requireNonNull(timeouts, "timeouts");
            return this;
        }

        public Builder waterMark(WaterMark waterMark) {
            this.waterMark = requireNonNull(waterMark, "waterMark");
            return this;
        }

        public Builder limits(Limits limits) {
            this.limits = requireNonNull(limits, "limits");
            return this;
        }

        public Builder access(AccessList access) {
            this.access = requireNonNull(access, "access");
            return this;
        }

        public Builder accessLog(AccessLog accessLog) {
            this.accessLog = requireNonNull(accessLog, "accessLog");
            return this;
        }

        public Builder tcpKeepalive(TcpKeepalive tcpKeepalive) {
            this.tcpKeepalive = requireNonNull(tcpKeepalive, "tcpKeepalive");
            return this;
        }

        /** SNI targets (the route's backends become the default, and may then be empty). */
        public Builder sni(List<SniTarget> targets) {
            this.sni = List.copyOf(targets);
            return this;
        }

        public Builder protocol(RouteProtocol protocol) {
            this.protocol = requireNonNull(protocol, "protocol");
            return this;
        }

        public Builder capture(RouteCapture capture) {
            this.capture = Optional.of(capture);
            return this;
        }

        public Builder proxyProtocol(ProxyProtocol proxyProtocol) {
            this.proxyProtocol = requireNonNull(proxyProtocol, "proxyProtocol");
            return this;
        }

        /** Terminates TLS for clients. */
        public Builder tls(TlsConfig tls) {
            this.tls = Optional.of(tls);
            return this;
        }

        /** Speaks TLS to the backends. */
        public Builder backendTls(BackendTls backendTls) {
            this.backendTls = Optional.of(backendTls);
            return this;
        }

        /** TCP_DEFER_ACCEPT on the listener. */
        public Builder deferAccept(Duration deferAccept) {
            this.deferAccept = requireNonNull(deferAccept, "deferAccept");
            return this;
        }

        public Route build() {
            return new Route(
                    name,
                    listen,
                    backends,
                    balance,
                    healthCheck,
                    passiveCheck,
                    retries,
                    timeouts,
                    waterMark,
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
    }
}
