package dev.strait.server.admin;

import dev.strait.balance.Backend;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.tls.ServerTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The families read from the running proxy when {@code /metrics} is scraped, rather than counted as things happen:
 * active connections, bytes each way including those of open connections, each backend's health and load, and
 * {@code strait_up}. Backends of routes without active health checks have {@code strait_backend_checked 0} and no
 * {@code strait_backend_up}, so that a dashboard never reads "up" where nothing was checked.
 */
public final class LiveMetrics {
    private LiveMetrics() {}

    /** Registers the live families of {@code server} in {@code metrics}. */
    public static void register(ProxyMetrics metrics, ProxyView server) {
        metrics.gauge(
                "strait_connections_active",
                "Open client connections (admitted).",
                g -> server.routeMetrics().forEach((route, m) -> g.call(m.active(), route)),
                "route");
        metrics.liveCounter(
                "strait_bytes_from_client",
                "Bytes relayed client to backend, by closed and open connections.",
                c -> bytes(server, true).forEach((key, value) -> c.call(value, key.route(), key.backend())),
                "route",
                "backend");
        metrics.liveCounter(
                "strait_bytes_from_backend",
                "Bytes relayed backend to client, by closed and open connections.",
                c -> bytes(server, false).forEach((key, value) -> c.call(value, key.route(), key.backend())),
                "route",
                "backend");
        metrics.gauge(
                "strait_direct_memory_bytes",
                "Direct memory held by the buffer allocator the connections use, pooled chunks included.",
                g -> g.call(
                        ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider metered
                                ? metered.metric().usedDirectMemory()
                                : -1));
        metrics.liveCounter(
                "strait_tls_handshake_failures",
                "Client TLS handshakes that failed (closed with tls_error).",
                c -> server.routeMetrics().forEach((route, m) -> c.call(m.tlsHandshakeFailuresTotal(), route)),
                "route");
        metrics.liveCounter(
                "strait_tls_handshake_timeouts",
                "Clients closed with tls_handshake_timeout: TLS (with protocol postgres, its preamble too) not set up"
                        + " within tls.handshakeTimeout.",
                c -> server.routeMetrics().forEach((route, m) -> c.call(m.tlsHandshakeTimeoutsTotal(), route)),
                "route");
        metrics.liveCounter(
                "strait_tls_reload_failures",
                "Certificate reloads refused, tls or backendTls files (the previous context stays).",
                c -> server.routeMetrics().forEach((route, m) -> c.call(m.tlsReloadFailuresTotal(), route)),
                "route");
        metrics.gauge(
                "strait_tls_certificate_expiry_timestamp_seconds",
                "When each certificate a terminating route serves expires (Unix time).",
                g -> server.routeMetrics().forEach((route, m) -> {
                    ServerTls tls = m.serving();
                    if (tls != null) {
                        tls.entries().forEach(e -> g.call(e.leaf().getNotAfter().getTime() / 1000, route, e.name()));
                    }
                }),
                "route",
                "name");
        metrics.liveCounter(
                "strait_proxy_protocol_errors",
                "PROXY protocol headers refused, by reason.",
                c -> server.routeMetrics().forEach((route, m) -> m.proxyProtocolErrorsTotal()
                        .forEach((reason, n) -> c.call(n, route, reason))),
                "route",
                "reason");
        metrics.liveCounter(
                "strait_sni_routed",
                "Clients an SNI route sent to a target (or default, or none), by why: matched, no_match, no_sni,"
                        + " not_tls, error, silent, plaintext, cancel.",
                c -> server.routeMetrics().forEach((route, m) -> m.sniRoutedTotals()
                        .forEach((k, n) -> c.call(n, route, k.target(), k.result()))),
                "route",
                "target",
                "result");
        metrics.gauge(
                "strait_backend_checked",
                "1 if the backend has active health checks, else 0 (and then no strait_backend_up).",
                g -> server.routeMetrics().keySet().forEach(route -> {
                    boolean checked = server.activelyChecked(route);
                    server.backends(route).forEach(b -> g.call(checked ? 1 : 0, route, b.name()));
                }),
                "route",
                "backend");
        metrics.gauge(
                "strait_backend_up",
                "1 if the backend may take new connections (healthy), else 0; only for actively checked backends.",
                g -> server.routeMetrics().keySet().stream()
                        .filter(server::activelyChecked)
                        .forEach(route ->
                                server.backends(route).forEach(b -> g.call(b.healthy() ? 1 : 0, route, b.name()))),
                "route",
                "backend");
        metrics.gauge(
                "strait_backend_connections_active",
                "Live connections per backend.",
                g -> server.routeMetrics().keySet().forEach(route -> server.backends(route)
                        .forEach(b -> g.call(b.activeConnections(), route, b.name()))),
                "route",
                "backend");
        metrics.gauge(
                "strait_up",
                "1 while the proxy accepts connections, 0 while draining.",
                g -> g.call(server.isAccepting() ? 1 : 0));
    }

    private record Series(String route, String backend) {}

    /** Bytes one way per route and backend: closed connections plus the open ones, never going down. */
    private static Map<Series, Long> bytes(ProxyView server, boolean fromClient) {
        Map<Series, Long> open = new HashMap<>();
        List<ProxiedConnection> live = server.liveConnections();
        for (ProxiedConnection c : live) {
            Backend backend = c.backendTarget();
            if (backend != null && c.backend() != null) {
                open.merge(
                        new Series(c.route(), backend.name()),
                        fromClient ? c.bytesFromClient() : c.bytesFromBackend(),
                        Long::sum);
            }
        }
        Map<Series, Long> totals = new HashMap<>();
        Map<String, RouteMetrics> routes = server.routeMetrics();
        routes.forEach((route, m) -> m.backends().forEach((name, series) -> {
            long openBytes = open.getOrDefault(new Series(route, name), 0L);
            totals.put(
                    new Series(route, name),
                    fromClient ? series.bytesFromClientSoFar(openBytes) : series.bytesFromBackendSoFar(openBytes));
        }));
        return totals;
    }
}
