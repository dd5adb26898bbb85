package dev.strait.server.admin;

import dev.strait.balance.Backend;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.tls.ServerTls;
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
        family(
                out,
                "strait_tls_handshake_failures_total",
                "Client TLS handshakes that failed (closed with tls_error).",
                "counter",
                routes,
                RouteMetrics::tlsHandshakeFailuresTotal);
        family(
                out,
                "strait_tls_handshake_timeouts_total",
                "Client TLS handshakes not finished within tls.handshakeTimeout (closed with tls_handshake_timeout).",
                "counter",
                routes,
                RouteMetrics::tlsHandshakeTimeoutsTotal);
        family(
                out,
                "strait_tls_reload_failures_total",
                "Changed certificate files that could not be loaded (the previous certificates stayed).",
                "counter",
                routes,
                RouteMetrics::tlsReloadFailuresTotal);
        certificateExpiry(out, routes);
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
        return out.toString();
    }

    /** The expiry of each certificate a terminating route serves now, by route and certificate name. */
    private static void certificateExpiry(StringBuilder out, Map<String, RouteMetrics> routes) {
        String name = "strait_tls_certificate_expiry_timestamp_seconds";
        out.append("# HELP ").append(name).append(" When each served certificate expires (Unix time).\n");
        out.append("# TYPE ").append(name).append(" gauge\n");
        routes.forEach((route, m) -> {
            ServerTls tls = m.serving();
            if (tls == null) {
                return;
            }
            for (ServerTls.Entry e : tls.entries()) {
                out.append(name)
                        .append("{route=\"")
                        .append(route)
                        .append("\",name=\"")
                        .append(e.name().replace("\\", "\\\\").replace("\"", "\\\""))
                        .append("\"} ")
                        .append(e.leaf().getNotAfter().getTime() / 1000)
                        .append('\n');
            }
        });
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
