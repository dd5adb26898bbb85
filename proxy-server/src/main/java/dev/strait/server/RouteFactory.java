package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.balance.Balancers;
import dev.strait.config.BackendSpec;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import dev.strait.config.TlsConfig;
import dev.strait.server.accesslog.AccessLogs;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.backend.DnsSettings;
import dev.strait.server.backend.HealthChecker;
import dev.strait.server.capture.CaptureRequest;
import dev.strait.server.capture.Captures;
import dev.strait.server.connection.ConnectionRegistry;
import dev.strait.server.connection.FrontendInitializer;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.listen.ListenException;
import dev.strait.server.listen.Listeners;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.postgres.PostgresPreambleStage;
import dev.strait.server.proxyprotocol.ProxyProtocolStage;
import dev.strait.server.route.AcceptErrorHandler;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteRuntime;
import dev.strait.server.route.RouteTarget;
import dev.strait.server.route.WaitList;
import dev.strait.server.sni.NegotiatedNameStage;
import dev.strait.server.sni.SniStage;
import dev.strait.server.termination.TlsStage;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.server.tls.Providers;
import dev.strait.server.tls.ServerTls;
import dev.strait.transport.ErrorText;
import dev.strait.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Builds what a route runs on: its runtime (backend pool, balancer, admission gate, backend bootstrap, counters), its
 * health checker, and its listener sockets — one per worker event loop with SO_REUSEPORT on native transports, else
 * one on the boss loop. {@link RouteTable} decides when (start, reload); this class knows how.
 */
final class RouteFactory {
    private static final Logger log = LogManager.getLogger(RouteFactory.class);

    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ConnectionRegistry registry;
    private final Captures captures;
    private final AtomicInteger globalActive;
    private final Runnable onRelease;
    private final ProxyMetrics metrics;
    private final AccessLogs accessLogs;

    /**
     * @param globalActive live connections across all routes, shared by every admission gate
     * @param onRelease run when any connection ends, so listeners paused by a limit can resume
     * @param metrics the server's metric families, where each new route takes its series
     * @param accessLogs the server's access log writers, where each route finds its own
     * @param captures the server's traffic captures, consulted when a connection's relay starts
     */
    RouteFactory(
            Transport transport,
            EventLoopGroup boss,
            EventLoopGroup workers,
            ConnectionRegistry registry,
            AtomicInteger globalActive,
            Runnable onRelease,
            ProxyMetrics metrics,
            AccessLogs accessLogs,
            Captures captures) {
        this.transport = requireNonNull(transport, "transport");
        this.boss = requireNonNull(boss, "boss");
        this.workers = requireNonNull(workers, "workers");
        this.registry = requireNonNull(registry, "registry");
        this.captures = requireNonNull(captures, "captures");
        this.globalActive = requireNonNull(globalActive, "globalActive");
        this.onRelease = requireNonNull(onRelease, "onRelease");
        this.metrics = requireNonNull(metrics, "metrics");
        this.accessLogs = requireNonNull(accessLogs, "accessLogs");
    }

    /** Builds a route's runtime and binds its listener. */
    RouteListener bind(Route route, RouteListener previous, ProxyConfig cfg) throws StartException {
        RouteRuntime runtime = newRuntime(route, previous == null ? null : previous.runtime(), cfg);
        RouteListener listener = new RouteListener(runtime, healthCheckers(runtime));
        WriteBufferWaterMark waterMark = waterMark(route);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, cfg.backlog())
                .option(ChannelOption.SO_REUSEADDR, true)
                // No accept batching key (#14): Netty 4.2.18's epoll listener accepts one connection per wake-up
                // whatever MAX_MESSAGES_PER_READ says (16): its handle goes on only while "maybe more" holds, which for
                // a listener means accept returned fd 1, and level-triggered epoll reports a busy listener again at
                // once. Forcing batches of 16 (respectMaybeMoreData off) measured 2.00 accept4 per connection instead
                // of 1.00, the second an EAGAIN, and the same 5.1 epoll_pwait2 (bench/conn-syscalls.py, one client at
                // a time; bench/results/connection-cost.md). NIO already takes up to 16, io_uring a multishot accept.
                .handler(new AcceptErrorHandler(listener::runtime))
                .childOption(ChannelOption.AUTO_READ, false)
                // TCP_NODELAY: Netty's socket configs switch it on in their constructor (every transport, on any
                // platform but Android); setting it again here cost a second setsockopt per socket.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
                .childHandler(new FrontendInitializer(listener::runtime, registry));
        transport.keepaliveOptions().applyToChildren(bootstrap, route.tcpKeepalive());
        if (route.defersAccept()) {
            transport
                    .deferAcceptOption()
                    .ifPresentOrElse(
                            option -> bootstrap.option(option, route.deferAcceptSeconds()),
                            () -> warnDeferAcceptIgnored(route));
        }
        String what = "route " + route.name();
        List<Channel> channels = new ArrayList<>();
        try {
            if (transport.supportsReusePort()) {
                // One listener socket per event loop (SO_REUSEPORT): the kernel spreads new connections over them
                // and each is accepted on the loop that serves it, with no hop from a boss thread.
                HostAndPort address = Listeners.probe(route.listen(), what);
                for (EventExecutor loop : workers) {
                    ServerBootstrap perLoop = bootstrap
                            .clone()
                            .group((EventLoop) loop, (EventLoop) loop)
                            .option(UnixChannelOption.SO_REUSEPORT, true);
                    Channel c = Listeners.bind(perLoop, address, what);
                    channels.add(c);
                    address = new HostAndPort(address.host(), ((InetSocketAddress) c.localAddress()).getPort());
                }
            } else {
                channels.add(Listeners.bind(bootstrap.group(boss, workers), route.listen(), what));
            }
        } catch (ListenException e) {
            channels.forEach(c -> c.close().awaitUninterruptibly());
            listener.stopBackgroundWork();
            throw new StartException(e);
        }
        listener.bound(channels);
        return listener;
    }

    /**
     * A reload that changes {@code deferAccept} without moving the listener: setsockopt on the listening sockets, which
     * Linux allows at any time; connections already waiting in the kernel keep the value they were received under.
     */
    void updateDeferAccept(Route was, Route now, RouteListener listener) {
        if (was.deferAccept().equals(now.deferAccept())) {
            return;
        }
        Optional<ChannelOption<Integer>> option = transport.deferAcceptOption();
        if (option.isEmpty()) {
            if (now.defersAccept()) {
                warnDeferAcceptIgnored(now);
            }
            return;
        }
        try {
            listener.setListenerOption(option.get(), now.deferAcceptSeconds());
        } catch (ChannelException e) {
            log.warn(
                    "route {}: cannot change deferAccept on its listener ({}); it takes effect when the listener is"
                            + " rebound",
                    now.name(),
                    ErrorText.of(e));
        }
    }

    private void warnDeferAcceptIgnored(Route route) {
        log.warn(
                "route {}: deferAccept {} ignored: transport {} has no TCP_DEFER_ACCEPT (epoll and io_uring only)",
                route.name(),
                ConfigValues.format(route.deferAccept()),
                transport.name());
    }

    /** Logs a listener once it has taken effect (not when a later bind of the same start or reload undoes it). */
    void logListening(Route route, RouteListener listener) {
        log.info(
                "listening on {} -> {} (transport {})",
                Listeners.format(listener.channel().localAddress()),
                route.backends().stream().map(b -> b.address().toString()).collect(Collectors.joining(","))
                        + (route.routesBySni() ? " (and " + route.sni().size() + " sni target(s))" : ""),
                transport.name());
    }

    RouteRuntime newRuntime(Route route, RouteRuntime previous, ProxyConfig cfg) {
        // Carried over a reload: clients still waiting on the old runtime are woken by the new one's events too.
        WaitList waiters = previous == null ? new WaitList() : previous.waiters();
        BackendPool pool = pool(
                route.name(),
                withProxyHeaders(route, route.backends()),
                route.passiveCheck(),
                route.healthCheck().isPresent(),
                previous == null ? null : previous.pool(),
                waiters,
                cfg);
        List<RouteTarget> targets = new ArrayList<>(route.sni().size());
        for (SniTarget sni : route.sni()) {
            RouteTarget was = previous == null ? null : previous.target(sni.name());
            targets.add(new RouteTarget(
                    sni.name(),
                    pool(
                            route.name() + "/" + sni.name(),
                            withProxyHeaders(route, sni.backends()),
                            sni.passiveCheck(),
                            sni.healthCheck().isPresent(),
                            was == null ? null : was.pool(),
                            waiters,
                            cfg),
                    Balancers.create(sni.balance()),
                    sni.retries(),
                    sni.healthCheck()));
        }
        AdmissionGate gate = new AdmissionGate(
                route.access(),
                route.limits(),
                globalActive,
                cfg.maxConnections(),
                onRelease,
                previous == null ? null : previous.gate());
        startConfiguredCapture(route, previous);
        RouteMetrics routeMetrics = previous == null ? new RouteMetrics(metrics, route.name()) : previous.metrics();
        List<PreRelayStage.Factory> stages = new ArrayList<>(4); // only the stages the route turns on, in order
        if (route.proxyProtocol().accept()) {
            // First: the client's real address decides admission and everything after it.
            stages.add(ProxyProtocolStage.factory(
                    route.proxyProtocol().headerTimeout(), routeMetrics::proxyProtocolError));
        }
        Optional<ServerTls> serverTls = Optional.empty();
        if (route.tls().isPresent()) {
            TlsConfig tls = route.tls().get();
            ServerTls contexts = tlsOrFail(route, () -> ServerTls.load(route.name(), tls));
            contexts.watch(workers.next(), routeMetrics::tlsReloadFailed);
            serverTls = Optional.of(contexts);
            TlsStage.Outcomes outcomes = routeMetrics::tlsHandshakeFailed;
            if (route.protocol() == RouteProtocol.POSTGRES) {
                // PostgreSQL asks for TLS (or sends a cancel) in plaintext first: answered before the handshake.
                stages.add(PostgresPreambleStage.factory(route.name(), tls.handshakeTimeout()));
            }
            stages.add(host -> new TlsStage(contexts, tls.handshakeTimeout(), outcomes, host));
            if (previous == null || previous.serverTls().isEmpty()) {
                log.info(
                        "route {}: terminating TLS with the {} provider{}",
                        route.name(),
                        contexts.provider(),
                        Providers.fallbackReason(tls.provider(), contexts.provider()));
            }
        }
        routeMetrics.serving(serverTls.orElse(null));
        if (route.routesBySni()) {
            // With tls, by the name of the handshake just terminated; else by the ClientHello, passed on untouched.
            stages.add(
                    route.tls().isPresent()
                            ? NegotiatedNameStage.factory(route, routeMetrics)
                            : SniStage.factory(route, routeMetrics));
        }
        BackendTlsContexts backendTls = tlsOrFail(route, () -> BackendTlsContexts.build(route));
        backendTls.watch(workers.next(), routeMetrics::tlsReloadFailed);
        if (previous == null) {
            warnUnverified(route);
        }
        return new RouteRuntime(
                route,
                pool,
                Balancers.create(route.balance()),
                backendBootstrap(route),
                gate,
                routeMetrics,
                waiters,
                stages,
                // A TLS side's bytes must pass its SslHandler: splice would move ciphertext or plaintext raw.
                route.anyTls() ? 0 : cfg.splice().spliceAfter(),
                targets,
                accessLogs.loggerFor(route.accessLog()),
                captures,
                serverTls,
                backendTls);
    }

    /** Files checked at load can still change before the start: a failure then is the same one-line config error. */
    private static <T> T tlsOrFail(Route route, Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new ConfigException("route " + route.name(), e.getMessage());
        }
    }

    private static void warnUnverified(Route route) {
        for (BackendSpec b : route.backends()) {
            route.backendTlsFor(b)
                    .filter(t -> !t.verify())
                    .ifPresent(t -> log.warn(
                            "route {}: TLS to backend {} is not verified (verify: false): anyone on the path can impersonate it",
                            route.name(),
                            b.address()));
        }
    }

    /** One pool of backends (the route's own, or an sni target's), carrying over the health of {@code previous}. */
    private BackendPool pool(
            String name,
            List<BackendSpec> backends,
            PassiveCheck passive,
            boolean activelyChecked,
            BackendPool previous,
            WaitList waiters,
            ProxyConfig cfg) {
        EventLoop loop = workers.next();
        Map<String, Backend> carried = previous == null ? Map.of() : previous.byName();
        BackendPool pool = new BackendPool(name, backends, passive, dnsSettings(cfg), loop, carried, waiters::wakeAll);
        if (!activelyChecked) {
            // Nothing would bring back a backend that an earlier config's health check took down; a passive
            // cool-off still running ends on its own timer.
            pool.current().stream().filter(b -> !b.coolingOff()).forEach(pool::markHealthy);
        }
        return pool;
    }

    /** The route's health checkers: one for its own backends, one per sni target, each where configured. */
    List<HealthChecker> healthCheckers(RouteRuntime runtime) {
        List<HealthChecker> checkers = new ArrayList<>();
        healthChecker(runtime).ifPresent(checkers::add);
        for (RouteTarget target : runtime.targets()) {
            target.healthCheck().ifPresent(check -> checkers.add(checker(runtime, check, target.pool())));
        }
        return checkers;
    }

    /** A route's {@code capture} block starts a capture when the route starts, and again when a reload changes it. */
    private void startConfiguredCapture(Route route, RouteRuntime previous) {
        if (route.capture().isEmpty()
                || (previous != null && previous.route().capture().equals(route.capture()))) {
            return;
        }
        try {
            captures.start(new CaptureRequest(
                    route.name(), Optional.empty(), route.capture().get()));
        } catch (IOException | IllegalStateException e) {
            log.warn("route {}: cannot start its capture: {}", route.name(), ErrorText.of(e));
        }
    }

    /** Backends of the route, each with the PROXY header it gets written out: its own setting, else the route's. */
    private static List<BackendSpec> withProxyHeaders(Route route, List<BackendSpec> backends) {
        return backends.stream()
                .map(b -> new BackendSpec(
                        b.address(),
                        b.weight(),
                        b.maxConnections(),
                        b.backup(),
                        Optional.of(route.sendProxyProtocol(b)),
                        b.backendTls()))
                .toList();
    }

    Optional<HealthChecker> healthChecker(RouteRuntime runtime) {
        return runtime.route().healthCheck().map(check -> checker(runtime, check, runtime.pool()));
    }

    private HealthChecker checker(RouteRuntime runtime, HealthCheck check, BackendPool pool) {
        return new HealthChecker(
                        runtime.name(),
                        check,
                        pool,
                        workers.next(),
                        transport,
                        backend -> {
                            int closed = registry.closeConnectionsTo(backend);
                            log.info("route {}: closed {} connection(s) to {}", runtime.name(), closed, backend);
                        },
                        runtime.backendTls(),
                        runtime.route().protocol() == RouteProtocol.POSTGRES)
                .start();
    }

    private DnsSettings dnsSettings(ProxyConfig c) {
        if (c.dns().servers().isEmpty()) {
            return DnsSettings.system(transport, c.dns().refresh());
        }
        List<InetSocketAddress> servers = c.dns().servers().stream()
                .map(s -> new InetSocketAddress(s.host(), s.port()))
                .toList();
        return new DnsSettings(
                transport,
                new SequentialDnsServerAddressStreamProvider(servers),
                c.dns().refresh());
    }

    private Bootstrap backendBootstrap(Route route) {
        long connectMillis = route.timeouts().connect().toMillis();
        boolean ipv4Only = route.backends().stream()
                .allMatch(b -> NetUtil.isValidIpV4Address(b.address().host()));
        Bootstrap bootstrap = new Bootstrap()
                .channelFactory(
                        ipv4Only
                                ? transport.ipv4SocketChannelFactory()
                                : new ReflectiveChannelFactory<>(transport.socketChannel()))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectMillis) // 0 disables
                // TCP_NODELAY is on by Netty's default (see the listener above).
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark(route));
        return transport.keepaliveOptions().applyTo(bootstrap, route.tcpKeepalive());
    }

    private static WriteBufferWaterMark waterMark(Route route) {
        return new WriteBufferWaterMark(
                route.writeBufferWaterMark().low(), route.writeBufferWaterMark().high());
    }
}
