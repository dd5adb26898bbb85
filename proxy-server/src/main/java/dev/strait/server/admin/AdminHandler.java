package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.balance.Backend;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.listen.Listeners;
import dev.strait.server.route.RouteMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Answers the admin endpoint's requests.
 *
 * <ul>
 *   <li>{@code GET /live}: 200 while the process runs (a liveness probe).
 *   <li>{@code GET /ready}: 200 while listeners accept, 503 once draining (a readiness probe).
 *   <li>{@code GET /connections}: every live connection as JSON (route, both addresses, state, age, bytes).
 *   <li>{@code GET /backends}: every route's backends with health, weight and live connections, as JSON.
 *   <li>{@code GET /metrics}: per-route counters in the Prometheus text format.
 * </ul>
 */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ProxyView server;

    AdminHandler(ProxyView server) {
        this.server = requireNonNull(server, "server");
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws JsonProcessingException {
        String path = new QueryStringDecoder(request.uri()).path();
        FullHttpResponse response;
        if (!HttpMethod.GET.equals(request.method()) && !HttpMethod.HEAD.equals(request.method())) {
            response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n");
        } else {
            response = switch (path) {
                case "/live" -> text(HttpResponseStatus.OK, "live\n");
                case "/ready" -> server.isAccepting()
                        ? text(HttpResponseStatus.OK, "ready\n")
                        : text(HttpResponseStatus.SERVICE_UNAVAILABLE, "draining\n");
                case "/connections" -> json(connections());
                case "/backends" -> json(backends());
                case "/metrics" -> metrics();
                default -> text(
                        HttpResponseStatus.NOT_FOUND, "not found; try /live /ready /connections /backends /metrics\n");
            };
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keepAlive);
        if (HttpMethod.HEAD.equals(request.method())) {
            response.content().clear();
        }
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private ObjectNode connections() {
        Instant now = Instant.now();
        List<ProxiedConnection> live = server.liveConnections();
        ObjectNode root = JSON.createObjectNode();
        root.put("count", live.size());
        ArrayNode list = root.putArray("connections");
        for (ProxiedConnection c : live) {
            ObjectNode n = list.addObject();
            n.put("id", c.id());
            n.put("route", c.route());
            n.put("client", address(c.client()));
            n.put("listener", address(c.listener()));
            n.put("backend", address(c.backend()));
            n.put("state", c.state().name());
            n.put("startedAt", c.started().toString());
            n.put("ageSeconds", Duration.between(c.started(), now).toMillis() / 1000.0);
            n.put("bytesFromClient", c.bytesFromClient());
            n.put("bytesFromBackend", c.bytesFromBackend());
        }
        return root;
    }

    private ObjectNode backends() {
        ObjectNode root = JSON.createObjectNode();
        server.routeMetrics().keySet().forEach(route -> {
            ArrayNode list = root.putArray(route);
            server.backends(route).forEach(b -> {
                ObjectNode n = list.addObject();
                n.put("name", b.name());
                n.put("address", address(b.address()));
                n.put("healthy", b.healthy());
                n.put("backup", b.backup());
                n.put("weight", b.weight());
                n.put("activeConnections", b.activeConnections());
            });
        });
        return root;
    }

    private FullHttpResponse metrics() {
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
        family(
                out,
                "strait_bytes_from_client_total",
                "Bytes relayed client to backend by closed connections.",
                "counter",
                routes,
                RouteMetrics::bytesFromClientTotal);
        family(
                out,
                "strait_bytes_from_backend_total",
                "Bytes relayed backend to client by closed connections.",
                "counter",
                routes,
                RouteMetrics::bytesFromBackendTotal);
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
        backendFamily(
                out,
                "strait_backend_up",
                "1 if the backend may take new connections (healthy), else 0.",
                routes,
                b -> b.healthy() ? 1 : 0);
        backendFamily(
                out,
                "strait_backend_connections_active",
                "Live connections per backend.",
                routes,
                Backend::activeConnections);
        out.append("# HELP strait_up 1 while the proxy accepts connections, 0 while draining.\n")
                .append("# TYPE strait_up gauge\n")
                .append("strait_up ")
                .append(server.isAccepting() ? 1 : 0)
                .append('\n');
        FullHttpResponse response = text(HttpResponseStatus.OK, out.toString());
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return response;
    }

    private void backendFamily(
            StringBuilder out,
            String name,
            String help,
            Map<String, RouteMetrics> routes,
            ToLongFunction<Backend> value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        routes.keySet().forEach(route -> server.backends(route).forEach(b -> out.append(name)
                .append("{route=\"")
                .append(route)
                .append("\",backend=\"")
                .append(b.name())
                .append("\"} ")
                .append(value.applyAsLong(b))
                .append('\n')));
    }

    private static void family(
            StringBuilder out,
            String name,
            String help,
            String type,
            Map<String, RouteMetrics> routes,
            ToLongFunction<RouteMetrics> value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        routes.forEach((route, m) -> out.append(name)
                .append("{route=\"")
                .append(route)
                .append("\"} ")
                .append(value.applyAsLong(m))
                .append('\n'));
    }

    private static String address(SocketAddress address) {
        return address == null ? null : Listeners.format(address);
    }

    private static FullHttpResponse json(ObjectNode body) throws JsonProcessingException {
        FullHttpResponse response = response(HttpResponseStatus.OK, JSON.writeValueAsBytes(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return response;
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        FullHttpResponse response = response(status, body.getBytes(StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return response;
    }

    private static FullHttpResponse response(HttpResponseStatus status, byte[] body) {
        ByteBuf content = Unpooled.wrappedBuffer(body);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return response;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
