package dev.strait.server.admin;

import dev.strait.balance.Backend;
import dev.strait.server.capture.Captures;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.route.RouteMetrics;
import java.util.List;
import java.util.Map;

/**
 * What the admin endpoint may read of the running proxy: its routes with their counters, each route's backends, the
 * live connections and whether it is ready; and the two things it may do: drain or enable a backend, and close a
 * connection (through its owner, {@link dev.strait.server.connection.ProxiedConnection#close}). The server implements
 * it; admin has no other way in.
 *
 * <p>Called from the admin endpoint's event loop while the proxy runs, so implementations are thread-safe and answer
 * from snapshots without blocking.
 */
public interface ProxyView {

    /** Every route's counters by route name, in config order. */
    Map<String, RouteMetrics> routeMetrics();

    /**
     * A route's current backends with their health and load.
     *
     * @throws IllegalArgumentException if no route has that name (a reload may just have removed it)
     */
    List<Backend> backends(String routeName);

    /**
     * Whether a route's backends have active health checks; without them a backend's health says only that no
     * passive check has taken it out.
     *
     * @throws IllegalArgumentException if no route has that name
     */
    boolean activelyChecked(String routeName);

    /**
     * Drains ({@code true}) or enables one of a route's backends: a drained backend gets no new connections, its live
     * ones run on. Returns true when this changed it.
     *
     * @throws IllegalArgumentException if no route has that name
     */
    boolean setDrained(String routeName, Backend backend, boolean drained);

    /** A snapshot of the live connections. */
    List<ProxiedConnection> liveConnections();

    /** The traffic captures. */
    Captures captures();

    /** Whether the listeners accept new clients: false once shutdown has begun (the readiness probe). */
    boolean isAccepting();
}
