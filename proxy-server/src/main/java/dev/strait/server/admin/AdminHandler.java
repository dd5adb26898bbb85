package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.server.capture.Capture;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.metrics.ProxyMetrics;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Answers the admin endpoint's requests.
 *
 * <ul>
 *   <li>{@code GET /live}: 200 while the process runs (a liveness probe).
 *   <li>{@code GET /ready}: 200 while listeners accept, 503 once draining (a readiness probe).
 *   <li>{@code GET /connections}: every live connection as JSON (route, both addresses, state, age, bytes, and on a
 *       TLS-terminating route {@code tls}: SNI, protocol, cipher, client certificate subject, ALPN).
 *   <li>{@code GET /backends}: every route's backends with health, check state ({@code unchecked}, {@code up},
 *       {@code down}), drain state, the last probe's result, weight and live connections, as JSON.
 *   <li>{@code GET /metrics}: the server's {@link ProxyMetrics} in the Prometheus text format.
 *   <li>{@code /api/...}: the JSON API ({@link AdminApi}), the only place that takes a {@code POST}.
 *   <li>{@code GET /ui}: the live page ({@link UiAssets}).
 *   <li>{@code /api/captures...}: traffic captures ({@link CaptureApi}); every method needs the token.
 * </ul>
 *
 * <p>Every response carries a Content-Security-Policy that forbids inline script and {@code nosniff}. A request the
 * handler cannot answer is a JSON error under {@code /api/}, plain text elsewhere; never a stack trace.
 */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LogManager.getLogger(AdminHandler.class);

    private final ProxyView server;
    private final ProxyMetrics metrics;
    private final AdminApi api;
    private final UiAssets ui;
    private final CaptureApi captures;

    AdminHandler(ProxyView server, ProxyMetrics metrics, AdminApi api, UiAssets ui) {
        this.server = requireNonNull(server, "server");
        this.metrics = requireNonNull(metrics, "metrics");
        this.api = requireNonNull(api, "api");
        this.ui = requireNonNull(ui, "ui");
        this.captures = new CaptureApi(Responses.JSON, server);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws IOException {
        String path = new QueryStringDecoder(request.uri()).path();
        FullHttpResponse response;
        if (request.decoderResult().isFailure()) {
            response = Responses.text(HttpResponseStatus.BAD_REQUEST, "bad request\n");
        } else if (CaptureApi.handles(path)) {
            response = captures(ctx, request, path);
            if (response == null) {
                return; // a capture file is being streamed
            }
        } else if (path.startsWith("/api/")) {
            response = api(ctx, request);
        } else if (!HttpMethod.GET.equals(request.method()) && !HttpMethod.HEAD.equals(request.method())) {
            response = Responses.text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n");
        } else {
            response = switch (path) {
                case "/live" -> Responses.text(HttpResponseStatus.OK, "live\n");
                case "/ready" -> server.isAccepting()
                        ? Responses.text(HttpResponseStatus.OK, "ready\n")
                        : Responses.text(HttpResponseStatus.SERVICE_UNAVAILABLE, "draining\n");
                case "/connections" -> Responses.json(connections());
                case "/backends" -> Responses.json(backends());
                case "/metrics" -> metrics();
                default -> ui.get(path)
                        .map(a -> Responses.bytes(HttpResponseStatus.OK, a.bytes(), a.contentType()))
                        .orElseGet(() -> Responses.text(
                                HttpResponseStatus.NOT_FOUND,
                                "not found; try /ui /live /ready /connections /backends /metrics /api/connections"
                                        + " /api/routes\n"));
            };
        }
        Responses.secure(response.headers());
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

    private FullHttpResponse api(ChannelHandlerContext ctx, FullHttpRequest request) {
        try {
            return api.handle(request, ctx.channel().remoteAddress());
        } catch (ApiException e) {
            return Responses.error(e);
        } catch (RuntimeException e) {
            log.warn("admin {} {}: {}", request.method(), request.uri(), e.toString());
            return Responses.error(
                    HttpResponseStatus.INTERNAL_SERVER_ERROR,
                    "internal error: " + e.getClass().getSimpleName());
        }
    }

    private ObjectNode connections() {
        Instant now = Instant.now();
        List<ProxiedConnection> live = server.liveConnections();
        ObjectNode root = Responses.JSON.createObjectNode();
        root.put("count", live.size());
        ArrayNode list = root.putArray("connections");
        for (ProxiedConnection c : live) {
            ObjectNode n = list.addObject();
            n.put("id", c.id());
            n.put("route", c.route());
            n.put("client", ApiViews.address(c.client()));
            n.put("peer", ApiViews.address(c.peer()));
            n.put("listener", ApiViews.address(c.listener()));
            n.put("backend", ApiViews.address(c.backend()));
            n.put("state", c.state().name());
            n.put("startedAt", c.started().toString());
            n.put("ageSeconds", Duration.between(c.started(), now).toMillis() / 1000.0);
            n.put("bytesFromClient", c.bytesFromClient());
            n.put("bytesFromBackend", c.bytesFromBackend());
            ApiViews.putTargetAndTls(n, c);
        }
        return root;
    }

    private ObjectNode backends() {
        ObjectNode root = Responses.JSON.createObjectNode();
        server.routeMetrics().keySet().forEach(route -> {
            ArrayNode list = root.putArray(route);
            boolean checked = server.activelyChecked(route);
            server.backends(route).forEach(b -> ApiViews.backend(list.addObject(), b, checked));
        });
        return root;
    }

    /**
     * A capture endpoint: the token first (captures hold what clients and backends said, so reading one needs it as
     * much as starting one), then {@link CaptureApi}. Null when a file is being streamed instead of an answer.
     */
    private FullHttpResponse captures(ChannelHandlerContext ctx, FullHttpRequest request, String path) {
        try {
            api.authorize(request);
        } catch (ApiException e) {
            return Responses.error(e);
        }
        CaptureApi.Reply reply = captures.handle(request.method(), path, ByteBufUtil.getBytes(request.content()));
        if (reply instanceof CaptureApi.File file) {
            sendFile(ctx, request, file.capture());
            return null;
        }
        CaptureApi.Json answer = (CaptureApi.Json) reply;
        return Responses.json(answer.status(), answer.body());
    }

    /** Streams a capture's file (its whole records so far) from the disk, with sendfile where the transport can. */
    private static void sendFile(ChannelHandlerContext ctx, FullHttpRequest request, Capture capture) {
        FileChannel file;
        try {
            file = FileChannel.open(capture.file(), StandardOpenOption.READ);
        } catch (IOException e) {
            FullHttpResponse gone = Responses.error(HttpResponseStatus.NOT_FOUND, "cannot read the capture file");
            ctx.writeAndFlush(gone).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        long length = capture.completeBytes();
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/vnd.tcpdump.pcap")
                .set(HttpHeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"strait-" + capture.id() + ".pcap\"")
                .set(HttpHeaderNames.CONTENT_LENGTH, length);
        Responses.secure(head.headers());
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(head, keepAlive);
        ctx.write(head);
        if (HttpMethod.HEAD.equals(request.method())) {
            try {
                file.close();
            } catch (IOException ignored) {
                // nothing was read
            }
        } else {
            ctx.write(new DefaultFileRegion(file, 0, length)); // closes the file once written
        }
        var written = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private FullHttpResponse metrics() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
        metrics.write(body);
        return Responses.bytes(HttpResponseStatus.OK, body.toByteArray(), metrics.contentType());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
