package dev.strait.server.admin;

import dev.strait.balance.Backend;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.route.RouteMetrics;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongBiFunction;
import java.util.function.ToLongFunction;

/**
 * The {@code /metrics} page: per-route counters and per-backend gauges in the Prometheus text format (0.0.4).
 *
 * <p>Backends of routes without active health checks have {@code strait_backend_checked 0} and no {@code
 * strait_backend_up}, so that a dashboard never reads "up" where nothing was checked.
 */
final class PrometheusText {
    private static final long[] NONE = new long[2];

    private PrometheusText() {}

    /** The exposition text of every family, for {@code server} as it is now. */
    static String render(ProxyView server) {
        Map<String, RouteMetrics> routes = server.routeMetrics();
        StringBuilder out = new StringBuilder();
        family(out, "strait_connections_active", "Open client connections.", "gauge", routes, RouteMetrics::active);
        family(
                out,
                "strait_connections_accepted_total",
                "Client connections accepted.",
                "counter",
                routes,
                RouteMetrics::acceptedTotal);
        family(
                out,
                "strait_backend_connect_failures_total",
                "Backend connection attempts that failed.",
                "counter",
                routes,
                RouteMetrics::backendConnectFailuresTotal);
        family(
                out,
                "strait_no_backend_total",
                "Clients closed because no backend accepted.",
                "counter",
                routes,
                RouteMetrics::noBackendTotal);
        Map<String, long[]> live = liveBytesByRoute(server);
        family(
                out,
                "strait_bytes_from_client_total",
                "Bytes relayed client to backend, by closed and open connections.",
                "counter",
                routes,
                (route, m) -> m.bytesFromClientSoFar(live.getOrDefault(route, NONE)[0]));
        family(
                out,
                "strait_bytes_from_backend_total",
                "Bytes relayed backend to client, by closed and open connections.",
                "counter",
                routes,
                (route, m) -> m.bytesFromBackendSoFar(live.getOrDefault(route, NONE)[1]));
        family(
                out,
                "strait_denied_total",
                "Clients closed by the route's allow/deny lists.",
                "counter",
                routes,
                RouteMetrics::deniedTotal);
        family(
                out,
                "strait_refused_total",
                "Clients closed by a connection or accept-rate limit.",
                "counter",
                routes,
                RouteMetrics::refusedTotal);
        family(
                out,
                "strait_splice_fallbacks_total",
                "Directions that kept copying because no pipe could be had for splice (descriptors ran out).",
                "counter",
                routes,
                RouteMetrics::spliceFallbacksTotal);
        family(
                out,
                "strait_accept_errors_total",
                "Failed accepts on the route's listeners (descriptors ran out, typically); each pauses that listener 1s.",
                "counter",
                routes,
                RouteMetrics::acceptErrorsTotal);
        backendFamily(
                server,
                out,
                "strait_backend_checked",
                "1 if the backend has active health checks, else 0 (and then no strait_backend_up).",
                routes,
                route -> true,
                (route, b) -> server.activelyChecked(route) ? 1 : 0);
        backendFamily(
                server,
                out,
                "strait_backend_up",
                "1 if the backend may take new connections (healthy), else 0; only for actively checked backends.",
                routes,
                server::activelyChecked,
                (route, b) -> b.healthy() ? 1 : 0);
        backendFamily(
                server,
                out,
                "strait_backend_connections_active",
                "Live connections per backend.",
                routes,
                route -> true,
                (route, b) -> b.activeConnections());
        out.append("# HELP strait_up 1 while the proxy accepts connections, 0 while draining.\n")
                .append("# TYPE strait_up gauge\n")
                .append("strait_up ")
                .append(server.isAccepting() ? 1 : 0)
                .append('\n');
        out.append("# HELP strait_direct_memory_bytes Direct memory held by the buffer allocator the connections use,"
                        + " pooled chunks included.\n")
                .append("# TYPE strait_direct_memory_bytes gauge\n")
                .append("strait_direct_memory_bytes ")
                .append(directMemory(ByteBufAllocator.DEFAULT))
                .append('\n');
        return out.toString();
    }

    /** What the allocator reports, or -1 when it keeps no count. */
    private static long directMemory(ByteBufAllocator allocator) {
        return allocator instanceof ByteBufAllocatorMetricProvider metered
                ? metered.metric().usedDirectMemory()
                : -1;
    }

    private static void backendFamily(
            ProxyView server,
            StringBuilder out,
            String name,
            String help,
            Map<String, RouteMetrics> routes,
            Predicate<String> included,
            ToLongBiFunction<String, Backend> value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        routes.keySet().stream().filter(included).forEach(route -> server.backends(route)
                .forEach(b -> out.append(name)
                        .append("{route=\"")
                        .append(route)
                        .append("\",backend=\"")
                        .append(b.name())
                        .append("\"} ")
                        .append(value.applyAsLong(route, b))
                        .append('\n')));
    }

    /** Bytes each way (client, backend) of the open connections, by route. */
    private static Map<String, long[]> liveBytesByRoute(ProxyView server) {
        Map<String, long[]> live = new HashMap<>();
        for (ProxiedConnection c : server.liveConnections()) {
            long[] bytes = live.computeIfAbsent(c.route(), r -> new long[2]);
            bytes[0] += c.state().bytesFromClient();
            bytes[1] += c.state().bytesFromBackend();
        }
        return live;
    }

    private static void family(
            StringBuilder out,
            String name,
            String help,
            String type,
            Map<String, RouteMetrics> routes,
            ToLongFunction<RouteMetrics> value) {
        family(out, name, help, type, routes, (route, m) -> value.applyAsLong(m));
    }

    private static void family(
            StringBuilder out,
            String name,
            String help,
            String type,
            Map<String, RouteMetrics> routes,
            ToLongBiFunction<String, RouteMetrics> value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        routes.forEach((route, m) -> out.append(name)
                .append("{route=\"")
                .append(route)
                .append("\"} ")
                .append(value.applyAsLong(route, m))
                .append('\n'));
    }
}
