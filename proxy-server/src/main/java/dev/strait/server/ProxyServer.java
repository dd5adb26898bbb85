package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.ProxyConfig;
import dev.strait.server.accesslog.AccessLogs;
import dev.strait.server.admin.AdminServer;
import dev.strait.server.admin.LiveMetrics;
import dev.strait.server.admin.ProxyView;
import dev.strait.server.capture.Captures;
import dev.strait.server.connection.ConnectionRegistry;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.listen.ListenException;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteRuntime;
import dev.strait.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The running proxy: owns the boss and worker event loop groups, binds one listener per route (and the admin
 * endpoint), applies reloads, and drains on shutdown.
 *
 * <p>Lifecycle: {@link #start} binds everything or fails cleanly, releasing what it took; {@link #reload} applies a new
 * config without touching established connections; {@link #shutdown} stops accepting at once, waits up to a deadline
 * for live connections to finish, closes the rest and releases the event loops. Thread-safe.
 */
public final class ProxyServer implements ProxyView {
    private static final Logger log = LogManager.getLogger(ProxyServer.class);

    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final int workerThreads;
    private final ConnectionRegistry registry = new ConnectionRegistry();
    private final ProxyMetrics metrics = new ProxyMetrics(version());
    private final AccessLogs accessLogs = new AccessLogs(metrics);
    private final Captures captures;
    // Serialises start, reload and shutdown; never taken by event-loop code, which these wait on.
    private final Object lifecycle = new Object();
    private final AtomicInteger globalActive = new AtomicInteger();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile ProxyConfig config;
    private volatile AdminServer admin;
    private final RouteTable routes;

    private ProxyServer(ProxyConfig config) {
        this.config = config;
        this.transport = Transport.select(config.transport(), log::warn);
        this.workerThreads = config.workers() == 0 ? Runtime.getRuntime().availableProcessors() : config.workers();
        this.boss = transport.newEventLoopGroup(1, "strait-boss");
        this.workers = transport.newEventLoopGroup(workerThreads, "strait-worker");
        this.captures = new Captures(
                config.captureDirectory().orElseGet(() -> java.nio.file.Path.of(System.getProperty("java.io.tmpdir"))));
        this.routes = new RouteTable(new RouteFactory(
                transport,
                boss,
                workers,
                registry,
                globalActive,
                this::resumePausedListeners,
                metrics,
                accessLogs,
                captures));
        LiveMetrics.register(metrics, this);
    }

    /** The version in the jar's manifest; "unknown" when run from classes (tests). */
    private static String version() {
        String version = ProxyServer.class.getPackage().getImplementationVersion();
        return version == null ? "unknown" : version;
    }

    /** Reopens every access log file before its next line (SIGHUP, for logrotate). */
    public void reopenAccessLogs() {
        accessLogs.reopen();
    }

    /** The server's metric families: what {@code /metrics} serves. */
    public ProxyMetrics metrics() {
        return metrics;
    }

    /** Binds every route and the admin endpoint; on any failure releases everything and throws. */
    public static ProxyServer start(ProxyConfig config) throws StartException {
        requireNonNull(config, "config");
        ProxyServer server = new ProxyServer(config);
        try {
            synchronized (server.lifecycle) {
                server.routes.bindAll(config);
            }
            if (config.admin().isPresent()) {
                server.admin = AdminServer.start(
                        config.admin().get(),
                        server.boss,
                        server.transport,
                        server,
                        server.metrics,
                        () -> server.config.adminToken());
            }
            return server;
        } catch (StartException | RuntimeException e) {
            server.abandonStart();
            throw e;
        } catch (ListenException e) {
            server.abandonStart();
            throw new StartException(e);
        }
    }

    private void resumePausedListeners() {
        routes.resumePaused();
    }

    /**
     * Applies a new config to the running proxy without touching established connections: new routes bind, removed
     * routes stop accepting (their connections run on until they end), changed routes apply to new connections (a
     * changed listen address rebinds). Settings that need new event loops (transport, workers, backlog, admin) are
     * logged and kept until a restart. If a new listener cannot bind, nothing changes. What changes is a
     * {@link ReloadPlan}; this method only applies it.
     */
    public void reload(ProxyConfig next) throws StartException {
        requireNonNull(next, "next");
        synchronized (lifecycle) {
            if (stopping.get()) {
                return;
            }
            ReloadPlan plan = ReloadPlan.between(config, next, routes.boundPorts());
            // The running restart-only values stay the baseline, so that the next reload compares with what runs.
            ProxyConfig applied = plan.rejected().isEmpty() ? next : next.withRestartOnlyOf(config);
            routes.apply(plan, applied);
            plan.rejected()
                    .forEach(r -> log.warn(
                            "reload: {} changed from {} to {}; that takes a restart, keeping {}",
                            r.key(),
                            r.was(),
                            r.now(),
                            r.was()));
            config = applied;
        }
        resumePausedListeners();
    }

    public Transport transport() {
        return transport;
    }

    /** The worker event loop threads running (the config's {@code workers}, or one per core for 0). */
    public int workerThreads() {
        return workerThreads;
    }

    public ProxyConfig config() {
        return config;
    }

    /** The address a route's listener is bound to (with the real port when the config said 0). */
    public InetSocketAddress boundAddress(String routeName) {
        return routes.boundAddress(routeName);
    }

    /** A route's listener sockets (one per worker event loop on the native transports), to read their options. */
    List<Channel> listenerChannels(String routeName) {
        return routes.listenerChannels(routeName);
    }

    /** A route's current backends with their health and load, for the admin endpoint and tests. */
    @Override
    public List<Backend> backends(String routeName) {
        RouteRuntime runtime = routes.runtime(routeName);
        if (runtime.targets().isEmpty()) {
            return runtime.pool().current();
        }
        List<Backend> all = new ArrayList<>();
        runtime.pools().forEach(p -> all.addAll(p.current()));
        return all; // the default backends, then each sni target's
    }

    @Override
    public boolean activelyChecked(String routeName) {
        RouteRuntime runtime = routes.runtime(routeName);
        return runtime.route().healthCheck().isPresent()
                || runtime.targets().stream().anyMatch(t -> t.healthCheck().isPresent());
    }

    @Override
    public boolean setDrained(String routeName, Backend backend, boolean drained) {
        return routes.runtime(routeName).pool().setDrained(backend, drained);
    }

    /** The admin endpoint's address, if it runs. */
    public Optional<InetSocketAddress> adminAddress() {
        AdminServer a = admin;
        return a == null ? Optional.empty() : Optional.of(a.address());
    }

    public ConnectionRegistry connections() {
        return registry;
    }

    /** The traffic captures, started by the admin endpoint or a route's {@code capture} config. */
    @Override
    public Captures captures() {
        return captures;
    }

    /** Every route's counters, in config order. */
    @Override
    public Map<String, RouteMetrics> routeMetrics() {
        return routes.metrics();
    }

    @Override
    public List<ProxiedConnection> liveConnections() {
        return registry.snapshot();
    }

    /** False once shutdown has begun: the admin endpoint's readiness. */
    @Override
    public boolean isAccepting() {
        return !stopping.get();
    }

    /**
     * Stops accepting, lets live connections finish for up to {@code drainTimeout}, closes the rest, then releases the
     * event loops. Only the first call acts; later calls wait for it.
     */
    public void shutdown(Duration drainTimeout) {
        stop(drainTimeout, true);
    }

    /** Releases what a failed start made, without a word: the caller reports the failure in one line. */
    private void abandonStart() {
        stop(Duration.ZERO, false);
    }

    private void stop(Duration drainTimeout, boolean announce) {
        if (!stopping.compareAndSet(false, true)) {
            awaitTermination();
            return;
        }
        try {
            synchronized (lifecycle) {
                routes.stopAll();
            }
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
            captures.close();
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            workers.terminationFuture().awaitUninterruptibly(10, TimeUnit.SECONDS);
            boss.terminationFuture().awaitUninterruptibly(10, TimeUnit.SECONDS);
            accessLogs.close(); // after the event loops: every connection's last line is queued
            if (announce) {
                log.info("stopped");
            }
        } finally {
            terminated.countDown();
        }
    }

    /** Closes every live connection at once (a fast stop during a drain), each after a flush of what it was sent. */
    public void closeAllConnections() {
        registry.closeAll();
    }

    /** Blocks until {@link #shutdown} has finished. */
    public void awaitTermination() {
        try {
            terminated.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
