package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.admin.AdminServer;
import dev.strait.server.connection.BackendPool;
import dev.strait.server.connection.ConnectionRegistry;
import dev.strait.server.connection.FrontendInitializer;
import dev.strait.server.connection.RouteMetrics;
import dev.strait.server.connection.RouteRuntime;
import dev.strait.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The running proxy: owns the boss and worker event loop groups, binds one listener per route (and the admin
 * endpoint), and drains on shutdown.
 *
 * <p>Lifecycle: {@link #start} binds everything or fails cleanly, releasing what it took; {@link #shutdown} stops
 * accepting at once, waits up to a deadline for live connections to finish, closes the rest and releases the event
 * loops. Thread-safe.
 */
public final class ProxyServer {
    private static final Logger log = LogManager.getLogger(ProxyServer.class);

    private final ProxyConfig config;
    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final DnsAddressResolverGroup resolver;
    private final ConnectionRegistry registry = new ConnectionRegistry();
    private final Map<String, RouteRuntime> routes = new LinkedHashMap<>();
    private final Map<String, Channel> listeners = new LinkedHashMap<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile AdminServer admin;

    private ProxyServer(ProxyConfig config) {
        this.config = config;
        this.transport = Transport.select(config.transport(), log::warn);
        int threads = config.workers() == 0 ? Runtime.getRuntime().availableProcessors() : config.workers();
        this.boss = transport.newEventLoopGroup(1, "strait-boss");
        this.workers = transport.newEventLoopGroup(threads, "strait-worker");
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(transport.datagramChannel())
                .socketChannelType(transport.socketChannel()));
    }

    /** Binds every route and the admin endpoint; on any failure releases everything and throws. */
    public static ProxyServer start(ProxyConfig config) throws StartException {
        requireNonNull(config, "config");
        ProxyServer server = new ProxyServer(config);
        try {
            for (Route route : config.routes()) {
                server.bind(route);
            }
            if (config.admin().isPresent()) {
                server.admin = AdminServer.start(config.admin().get(), server.boss, server.transport, server);
            }
            return server;
        } catch (StartException | RuntimeException e) {
            server.shutdown(Duration.ZERO);
            throw e;
        }
    }

    private void bind(Route route) throws StartException {
        RouteRuntime runtime =
                new RouteRuntime(route, new BackendPool(route.backends()), backendBootstrap(route), new RouteMetrics());
        WriteBufferWaterMark waterMark = new WriteBufferWaterMark(
                route.writeBufferWaterMark().low(), route.writeBufferWaterMark().high());
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(boss, workers)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, config.backlog())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
                .childHandler(new FrontendInitializer(runtime, registry));
        Channel channel = bindOrFail(bootstrap, route.listen(), "route " + route.name());
        routes.put(route.name(), runtime);
        listeners.put(route.name(), channel);
        log.info(
                "listening on {} -> {} (transport {})",
                format(channel.localAddress()),
                route.backends().stream().map(HostAndPort::toString).collect(Collectors.joining(",")),
                transport.name());
    }

    /** Binds a server bootstrap, turning a bind failure into a one-line {@link StartException}. */
    public static Channel bindOrFail(ServerBootstrap bootstrap, HostAndPort address, String what)
            throws StartException {
        try {
            return bootstrap
                    .bind(new InetSocketAddress(address.host(), address.port()))
                    .syncUninterruptibly()
                    .channel();
        } catch (Exception e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new StartException("cannot listen on " + address + " for " + what + ": " + reason, e);
        }
    }

    private Bootstrap backendBootstrap(Route route) {
        long connectMillis = route.timeouts().connect().toMillis();
        return new Bootstrap()
                .channel(transport.socketChannel())
                .resolver(resolver)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectMillis) // 0 disables
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(
                        ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(
                                route.writeBufferWaterMark().low(),
                                route.writeBufferWaterMark().high()));
    }

    /** "127.0.0.1:15432" or "[::1]:15432". */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String host = inet.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return String.valueOf(address);
    }

    public Transport transport() {
        return transport;
    }

    public ProxyConfig config() {
        return config;
    }

    /** The address a route's listener is bound to (with the real port when the config said 0). */
    public InetSocketAddress boundAddress(String routeName) {
        Channel channel = listeners.get(routeName);
        if (channel == null) {
            throw new IllegalArgumentException("no route named " + routeName);
        }
        return (InetSocketAddress) channel.localAddress();
    }

    /** The admin endpoint's address, if it runs. */
    public Optional<InetSocketAddress> adminAddress() {
        AdminServer a = admin;
        return a == null ? Optional.empty() : Optional.of(a.address());
    }

    public ConnectionRegistry connections() {
        return registry;
    }

    /** Every route's counters, in config order. */
    public Map<String, RouteMetrics> routeMetrics() {
        Map<String, RouteMetrics> metrics = new LinkedHashMap<>();
        routes.forEach((name, runtime) -> metrics.put(name, runtime.metrics()));
        return metrics;
    }

    /** False once shutdown has begun: the admin endpoint's readiness. */
    public boolean isAccepting() {
        return !stopping.get();
    }

    /**
     * Stops accepting, lets live connections finish for up to {@code drainTimeout}, closes the rest, then releases the
     * event loops. Only the first call acts; later calls wait for it.
     */
    public void shutdown(Duration drainTimeout) {
        if (!stopping.compareAndSet(false, true)) {
            awaitTermination();
            return;
        }
        try {
            List<Channel> closing = new ArrayList<>(listeners.values());
            closing.forEach(Channel::close);
            closing.forEach(c -> c.closeFuture().awaitUninterruptibly());
            int live = registry.size();
            if (live > 0 && !drainTimeout.isZero()) {
                log.info("draining {} connection(s) for up to {}s", live, drainTimeout.toSeconds());
                registry.allClosed().awaitUninterruptibly(drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            int left = registry.size();
            if (left > 0) {
                log.info("closing {} connection(s) still open", left);
                registry.closeAll().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            AdminServer a = admin;
            if (a != null) {
                a.close();
            }
            resolver.close();
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            workers.terminationFuture().awaitUninterruptibly(10, TimeUnit.SECONDS);
            boss.terminationFuture().awaitUninterruptibly(10, TimeUnit.SECONDS);
            log.info("stopped");
        } finally {
            terminated.countDown();
        }
    }

    /** Blocks until {@link #shutdown} has finished. */
    public void awaitTermination() {
        boolean done = false;
        while (!done) {
            try {
                terminated.await();
                done = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
