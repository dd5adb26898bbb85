package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.listen.Listeners;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The bound routes by name, in config order, and the only place they change: bound at start, changed by a
 * {@link ReloadPlan}, stopped at shutdown. {@link RouteFactory} builds what goes in.
 *
 * <p>Thread model: the map is an immutable snapshot replaced whole, so event loops and the admin endpoint read it
 * without a lock; {@link ProxyServer} calls the methods that change it under its lifecycle lock, one at a time.
 */
final class RouteTable {
    private static final Logger log = LogManager.getLogger(RouteTable.class);

    private final RouteFactory factory;
    private volatile Map<String, RouteListener> routes = Map.of();

    RouteTable(RouteFactory factory) {
        this.factory = requireNonNull(factory, "factory");
    }

    /** Binds every route of the first config; what bound before a failure stays, so that {@link #stopAll} closes it. */
    void bindAll(ProxyConfig config) throws StartException {
        Map<String, RouteListener> bound = new LinkedHashMap<>();
        try {
            for (Route route : config.routes()) {
                bound.put(route.name(), factory.bind(route, null, config));
            }
        } finally {
            routes = Collections.unmodifiableMap(bound);
        }
        config.routes().forEach(route -> factory.logListening(route, bound.get(route.name())));
    }

    /**
     * Applies a plan: first everything that can fail (new listeners, new runtimes), then the swaps, moves and removals.
     * If a new listener cannot bind, nothing changes. Established connections are never touched.
     */
    void apply(ReloadPlan plan, ProxyConfig next) throws StartException {
        Map<String, RouteListener> old = routes;
        Map<String, RouteListener> fresh = new HashMap<>();
        Map<String, RouteRuntime> runtimes = new HashMap<>();
        try {
            for (Route route : plan.toBind()) {
                fresh.put(route.name(), factory.bind(route, old.get(route.name()), next));
            }
            for (Route route : plan.updated()) {
                runtimes.put(
                        route.name(),
                        factory.newRuntime(route, old.get(route.name()).runtime(), next));
            }
        } catch (StartException | RuntimeException e) {
            fresh.values().forEach(RouteTable::stop);
            runtimes.values().forEach(r -> r.pools().forEach(BackendPool::close));
            throw e;
        }
        for (Route route : plan.toBind()) {
            factory.logListening(route, fresh.get(route.name()));
        }
        for (Route route : plan.added()) {
            log.info("route {}: added", route.name());
        }
        for (Route route : plan.rebound()) {
            stop(old.get(route.name()));
            log.info(
                    "route {}: moved to {}",
                    route.name(),
                    Listeners.format(fresh.get(route.name()).channel().localAddress()));
        }
        for (Route route : plan.updated()) {
            RouteRuntime runtime = runtimes.get(route.name());
            RouteListener listener = old.get(route.name());
            factory.updateDeferAccept(listener.runtime().route(), route, listener);
            listener.swap(runtime, factory.healthCheckers(runtime)).pools().forEach(BackendPool::close);
            log.info(
                    "route {}: updated {}; new connections use the new settings",
                    route.name(),
                    plan.changes().get(route.name()));
        }
        for (String name : plan.removed()) {
            stop(old.get(name));
            log.info("route {}: removed; its live connections continue until they end", name);
        }
        Map<String, RouteListener> result = new LinkedHashMap<>();
        next.routes().forEach(r -> result.put(r.name(), fresh.getOrDefault(r.name(), old.get(r.name()))));
        routes = Collections.unmodifiableMap(result);
    }

    /** The port each route's listener holds (the real one when the config said 0), for {@link ReloadPlan#between}. */
    Map<String, Integer> boundPorts() {
        Map<String, Integer> ports = new HashMap<>();
        routes.forEach((name, l) -> ports.put(name, boundAddress(l).getPort()));
        return ports;
    }

    /** Stops every route's listeners and background work; live connections are left to the caller. */
    void stopAll() {
        routes.values().forEach(RouteTable::stop);
    }

    /**
     * A slot was released (or an accept-rate pause ended): lets paused listeners accept again where there is room, and
     * wakes every route's waiting clients, since the server-wide limit is shared.
     */
    void resumePaused() {
        routes.values().forEach(l -> {
            l.runtime().gate().resumeIfRoom();
            l.runtime().waiters().wakeAll();
        });
    }

    /** The address a route's listener is bound to. */
    InetSocketAddress boundAddress(String routeName) {
        return boundAddress(get(routeName));
    }

    /** A route's listener sockets: one per event loop with SO_REUSEPORT, else one. */
    List<Channel> listenerChannels(String routeName) {
        return get(routeName).channels();
    }

    /** A route's current runtime. */
    RouteRuntime runtime(String routeName) {
        return get(routeName).runtime();
    }

    /** Every route's counters, in config order. */
    Map<String, RouteMetrics> metrics() {
        Map<String, RouteMetrics> metrics = new LinkedHashMap<>();
        routes.forEach((name, listener) -> metrics.put(name, listener.runtime().metrics()));
        return metrics;
    }

    private RouteListener get(String routeName) {
        RouteListener listener = routes.get(routeName);
        if (listener == null) {
            throw new IllegalArgumentException("no route named " + routeName);
        }
        return listener;
    }

    private static InetSocketAddress boundAddress(RouteListener listener) {
        return (InetSocketAddress) listener.channel().localAddress();
    }

    private static void stop(RouteListener listener) {
        listener.closeListeners();
        listener.stopBackgroundWork();
    }
}
