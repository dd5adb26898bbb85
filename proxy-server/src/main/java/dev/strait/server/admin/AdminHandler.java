package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.balance.CheckResult;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.listen.Listeners;
import dev.strait.server.tls.TlsSessionInfo;
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
import java.util.Optional;

/**
 * Answers the admin endpoint's requests.
 *
 * <ul>
 *   <li>{@code GET /live}: 200 while the process runs (a liveness probe).
 *   <li>{@code GET /ready}: 200 while listeners accept, 503 once draining (a readiness probe).
 *   <li>{@code GET /connections}: every live connection as JSON (route, both addresses, state, age, bytes, and on a
 *       TLS-terminating route {@code tls}: SNI, protocol, cipher, client certificate subject, ALPN).
 *   <li>{@code GET /backends}: every route's backends with health, check state ({@code unchecked}, {@code up},
 *       {@code down}), the last probe's result, weight and live connections, as JSON.
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
            TlsSessionInfo tls = c.tls();
            if (tls != null) {
                ObjectNode t = n.putObject("tls");
                t.put("sni", tls.sni());
                t.put("protocol", tls.protocol());
                t.put("cipher", tls.cipher());
                t.put("clientSubject", tls.clientSubject());
                t.put("alpn", tls.alpn());
            }
        }
        return root;
    }

    private ObjectNode backends() {
        ObjectNode root = JSON.createObjectNode();
        server.routeMetrics().keySet().forEach(route -> {
            ArrayNode list = root.putArray(route);
            boolean checked = server.activelyChecked(route);
            server.backends(route).forEach(b -> {
                ObjectNode n = list.addObject();
                n.put("name", b.name());
                n.put("address", address(b.address()));
                n.put("healthy", b.healthy());
                n.put("check", checked ? (b.healthy() ? "up" : "down") : "unchecked");
                Optional<CheckResult> last = checked ? b.lastCheck() : Optional.empty();
                if (last.isPresent()) {
                    ObjectNode result = n.putObject("lastCheck");
                    result.put("result", last.get().up() ? "up" : "down");
                    result.put("reason", last.get().reason());
                    result.put("at", last.get().at().toString());
                } else {
                    n.putNull("lastCheck");
                }
                n.put("backup", b.backup());
                n.put("weight", b.weight());
                n.put("activeConnections", b.activeConnections());
            });
        });
        return root;
    }

    private FullHttpResponse metrics() {
        FullHttpResponse response = text(HttpResponseStatus.OK, PrometheusText.render(server));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return response;
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
