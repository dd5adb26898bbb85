package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.admin.AdminServer;
import dev.strait.server.admin.ProxyView;
import dev.strait.server.connection.ConnectionRegistry;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.listen.ListenException;
import dev.strait.server.listen.Listeners;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteRuntime;
import dev.strait.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
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
    private final ConnectionRegistry registry = new ConnectionRegistry();
    // An immutable snapshot, replaced whole by start and reload; event loops read it without any lock.
    private volatile Map<String, RouteListener> routes = Map.of();
    // Serialises start, reload and shutdown; never taken by event-loop code, which these wait on.
    private final Object lifecycle = new Object();
    private final AtomicInteger globalActive = new AtomicInteger();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile ProxyConfig config;
    private volatile AdminServer admin;
    private final RouteFactory factory;

    private ProxyServer(ProxyConfig config) {
        this.config = config;
        this.transport = Transport.select(config.transport(), log::warn);
        int threads = config.workers() == 0 ? Runtime.getRuntime().availableProcessors() : config.workers();
        this.boss = transport.newEventLoopGroup(1, "strait-boss");
        this.workers = transport.newEventLoopGroup(threads, "strait-worker");
        this.factory = new RouteFactory(transport, boss, workers, registry, globalActive, this::resumePausedListeners);
    }

    /** Binds every route and the admin endpoint; on any failure releases everything and throws. */
    public static ProxyServer start(ProxyConfig config) throws StartException {
        requireNonNull(config, "config");
        ProxyServer server = new ProxyServer(config);
        try {
            synchronized (server.lifecycle) {
                Map<String, RouteListener> bound = new LinkedHashMap<>();
                try {
                    for (Route route : config.routes()) {
                        bound.put(route.name(), server.factory.bind(route, null, config));
                    }
                } finally {
                    server.routes = Collections.unmodifiableMap(bound); // so shutdown closes what was bound
                }
            }
            if (config.admin().isPresent()) {
                server.admin = AdminServer.start(config.admin().get(), server.boss, server.transport, server);
            }
            return server;
        } catch (StartException | RuntimeException e) {
            server.shutdown(Duration.ZERO);
            throw e;
        } catch (ListenException e) {
            server.shutdown(Duration.ZERO);
            throw new StartException(e);
        }
    }

    private void resumePausedListeners() {
        routes.values().forEach(l -> l.runtime().gate().resumeIfRoom());
    }

    /**
     * Applies a new config to the running proxy without touching established connections: new routes bind, removed
     * routes stop accepting (their connections run on until they end), changed routes apply to new connections (a
     * changed listen address rebinds). Settings that need new event loops (transport, workers, backlog, admin) are
     * logged and kept until a restart. If a new listener cannot bind, nothing changes.
     */
    public void reload(ProxyConfig next) throws StartException {
        requireNonNull(next, "next");
        synchronized (lifecycle) {
            if (stopping.get()) {
                return;
            }
            ProxyConfig current = config;
            warnIfChanged("transport", current.transport(), next.transport());
            warnIfChanged("workers", current.workers(), next.workers());
            warnIfChanged("backlog", current.backlog(), next.backlog());
            warnIfChanged("admin", current.admin(), next.admin());
            boolean globalChanged = current.maxConnections() != next.maxConnections()
                    || !current.dns().equals(next.dns());
            Map<String, RouteListener> old = routes;
            // Phase 1: everything that can fail — new listeners and new runtimes — before any state changes.
            Map<String, RouteListener> fresh = new LinkedHashMap<>();
            Map<String, RouteRuntime> updated = new LinkedHashMap<>();
            try {
                for (Route route : next.routes()) {
                    RouteListener existing = old.get(route.name());
                    if (existing == null || !listensOn(existing, route.listen())) {
                        fresh.put(route.name(), factory.bind(route, existing, next));
                    } else if (globalChanged || !existing.runtime().route().equals(route)) {
                        updated.put(route.name(), factory.newRuntime(route, existing.runtime(), next));
                    }
                }
            } catch (StartException | RuntimeException e) {
                fresh.values().forEach(this::stopListening);
                updated.values().forEach(r -> r.pool().close());
                throw e;
            }
            // Phase 2: swap in, move, remove.
            config = next;
            Map<String, RouteListener> result = new LinkedHashMap<>();
            for (Route route : next.routes()) {
                RouteListener existing = old.get(route.name());
                RouteListener bound = fresh.get(route.name());
                if (bound != null) {
                    if (existing != null) {
                        stopListening(existing);
                        log.info(
                                "route {}: moved to {}",
                                route.name(),
                                Listeners.format(bound.channel().localAddress()));
                    } else {
                        log.info("route {}: added", route.name());
                    }
                    result.put(route.name(), bound);
                } else {
                    RouteRuntime runtime = updated.get(route.name());
                    if (runtime != null) {
                        existing.swap(runtime, factory.healthChecker(runtime))
                                .pool()
                                .close();
                        log.info("route {}: updated; new connections use the new settings", route.name());
                    }
                    result.put(route.name(), existing);
                }
            }
            for (Map.Entry<String, RouteListener> e : old.entrySet()) {
                if (!result.containsKey(e.getKey())) {
                    stopListening(e.getValue());
                    log.info("route {}: removed; its live connections continue until they end", e.getKey());
                }
            }
            routes = Collections.unmodifiableMap(result);
        }
        resumePausedListeners();
    }

    /** Whether a route's listener already serves {@code listen}: the same config value, or its bound port. */
    private static boolean listensOn(RouteListener listener, HostAndPort listen) {
        if (listener.runtime().route().listen().equals(listen)) {
            return true;
        }
        InetSocketAddress bound = (InetSocketAddress) listener.channel().localAddress();
        return listen.port() == bound.getPort()
                && listen.host().equals(listener.runtime().route().listen().host());
    }

    private static void warnIfChanged(String key, Object was, Object now) {
        if (!was.equals(now)) {
            log.warn("reload: {} changed from {} to {}; that takes a restart, keeping {}", key, was, now, was);
        }
    }

    private void stopListening(RouteListener listener) {
        listener.closeListeners();
        listener.stopBackgroundWork();
    }

    public Transport transport() {
        return transport;
    }

    public ProxyConfig config() {
        return config;
    }

    /** The address a route's listener is bound to (with the real port when the config said 0). */
    public InetSocketAddress boundAddress(String routeName) {
        RouteListener listener = routes.get(routeName);
        if (listener == null) {
            throw new IllegalArgumentException("no route named " + routeName);
        }
        return (InetSocketAddress) listener.channel().localAddress();
    }

    /** A route's current backends with their health and load, for the admin endpoint and tests. */
    @Override
    public List<Backend> backends(String routeName) {
        RouteListener listener = routes.get(routeName);
        if (listener == null) {
            throw new IllegalArgumentException("no route named " + routeName);
        }
        return listener.runtime().pool().current();
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
    @Override
    public Map<String, RouteMetrics> routeMetrics() {
        Map<String, RouteMetrics> metrics = new LinkedHashMap<>();
        routes.forEach((name, listener) -> metrics.put(name, listener.runtime().metrics()));
        return metrics;
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
        if (!stopping.compareAndSet(false, true)) {
            awaitTermination();
            return;
        }
        try {
            synchronized (lifecycle) {
                routes.values().forEach(this::stopListening);
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
        try {
            terminated.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
