package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.balance.Backend;
import dev.strait.config.AdminToken;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.listen.Listeners;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The admin JSON API under {@code /api/}: the live connections with filters, closing one, each route's backends and
 * throughput, and draining or enabling a backend. Every {@code POST} needs {@code Authorization: Bearer <token>}
 * ({@code admin.token}): without a configured token it is refused with 403, with a wrong or missing one with 401.
 *
 * <p>Errors are JSON ({@link Responses#error}) with 400, 401, 403, 404 or 405; a refused request changes nothing.
 *
 * <p>Thread model: one instance per admin connection, on the admin endpoint's event loop; it reads the proxy through
 * {@link ProxyView} and closes connections through their owner, which hops to the connection's own event loop.
 */
final class AdminApi {
    private static final Logger log = LogManager.getLogger(AdminApi.class);
    private static final String BEARER = "Bearer ";

    private final ProxyView server;
    private final Optional<AdminToken> token;
    private final ApiViews views;

    AdminApi(ProxyView server, TrafficSampler sampler, Optional<AdminToken> token) {
        this.server = requireNonNull(server, "server");
        this.token = requireNonNull(token, "token");
        this.views = new ApiViews(server, sampler, token);
    }

    /** Answers a request whose path starts with {@code /api/}; {@code from} is the admin client, for the log. */
    FullHttpResponse handle(FullHttpRequest request, SocketAddress from) {
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String[] parts = uri.rawPath().substring(1).split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            parts[i] = QueryStringDecoder.decodeComponent(parts[i]);
        }
        HttpMethod method = request.method();
        boolean read = HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method);
        if (parts.length == 2 && parts[1].equals("connections")) {
            requireMethod(read, "GET, HEAD");
            return Responses.json(views.connections(ConnectionFilter.parse(uri.parameters())));
        }
        if (parts.length == 2 && parts[1].equals("routes")) {
            requireMethod(read, "GET, HEAD");
            return Responses.json(views.routes());
        }
        if (parts.length == 4 && parts[1].equals("connections") && parts[3].equals("close")) {
            requireMethod(HttpMethod.POST.equals(method), "POST");
            authorize(request);
            return close(parts[2], body(request), from);
        }
        if (parts.length == 6
                && parts[1].equals("routes")
                && parts[3].equals("backends")
                && (parts[5].equals("drain") || parts[5].equals("enable"))) {
            requireMethod(HttpMethod.POST.equals(method), "POST");
            authorize(request);
            body(request);
            return drain(parts[2], parts[4], parts[5].equals("drain"), from);
        }
        throw ApiException.notFound("no such endpoint: " + method + " " + uri.path()
                + "; the API has GET /api/connections, GET /api/routes, POST /api/connections/{id}/close,"
                + " POST /api/routes/{route}/backends/{address}/drain and .../enable");
    }

    private static void requireMethod(boolean allowed, String allow) {
        if (!allowed) {
            throw new ApiException(
                    HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "method not allowed; use " + allow,
                    List.of(Map.entry(HttpHeaderNames.ALLOW.toString(), allow)));
        }
    }

    /** 403 without a configured token, 401 without the right one; compared in constant time. */
    void authorize(FullHttpRequest request) {
        if (token.isEmpty()) {
            throw new ApiException(
                    HttpResponseStatus.FORBIDDEN,
                    "changes through the admin API are off: no admin.token is configured"
                            + " (set admin.token, e.g. to ${STRAIT_ADMIN_TOKEN}, and restart or reload)");
        }
        String header = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        String presented = header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? header.substring(BEARER.length()).trim()
                : null;
        if (!token.get().matches(presented)) {
            throw new ApiException(
                    HttpResponseStatus.UNAUTHORIZED,
                    presented == null ? "missing Authorization: Bearer <admin.token>" : "wrong admin token",
                    List.of(Map.entry(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Bearer realm=\"strait\"")));
        }
    }

    /** A POST's body: empty, or a JSON object whose only field is an optional {@code reason} string. */
    private static Optional<String> body(FullHttpRequest request) {
        if (!request.content().isReadable()) {
            return Optional.empty();
        }
        JsonNode node;
        try (ByteBufInputStream in = new ByteBufInputStream(request.content().duplicate())) {
            node = Responses.JSON.readTree((InputStream) in);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest("unreadable body: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            return Optional.empty();
        }
        if (!node.isObject()) {
            throw ApiException.badRequest("the body must be a JSON object, e.g. {\"reason\": \"...\"}");
        }
        var fields = node.fieldNames();
        while (fields.hasNext()) {
            String field = fields.next();
            if (!field.equals("reason")) {
                throw ApiException.badRequest("unknown field \"" + field + "\"; the body may hold only \"reason\"");
            }
        }
        JsonNode reason = node.get("reason");
        if (reason != null && !reason.isTextual()) {
            throw ApiException.badRequest("\"reason\" must be a string");
        }
        return reason == null ? Optional.empty() : Optional.of(reason.asText());
    }

    private FullHttpResponse close(String id, Optional<String> reason, SocketAddress from) {
        ProxiedConnection found = server.liveConnections().stream()
                .filter(c -> c.id().equals(id))
                .findFirst()
                .orElseThrow(() -> ApiException.notFound("no live connection with id \"" + id + "\""));
        log.info(
                "admin {}: closing connection {} (frontend {} -> backend {}, route {}){}",
                Listeners.format(from),
                id,
                ApiViews.address(found.client()),
                ApiViews.address(found.backend()),
                found.route(),
                reason.map(r -> ": " + r).orElse(""));
        found.close(CloseCause.ADMIN_CLOSE);
        ObjectNode body = Responses.JSON.createObjectNode();
        body.put("id", id);
        body.put("route", found.route());
        body.put("client", ApiViews.address(found.client()));
        body.put("cause", CloseCause.ADMIN_CLOSE.label());
        body.put("closing", true);
        return Responses.json(body);
    }

    private FullHttpResponse drain(String route, String address, boolean drain, SocketAddress from) {
        List<Backend> backends;
        try {
            backends = server.backends(route);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("no route named \"" + route + "\"");
        }
        Backend backend = backends.stream()
                .filter(b -> address.equals(b.name()) || address.equals(Listeners.format(b.address())))
                .findFirst()
                .orElseThrow(() -> ApiException.notFound("route \"" + route + "\" has no backend \"" + address
                        + "\"; give its name or ip:port as GET /api/routes lists them"));
        boolean changed = server.setDrained(route, backend, drain);
        log.info(
                "admin {}: route {} backend {} {}{}",
                Listeners.format(from),
                route,
                backend,
                drain ? "drained" : "enabled",
                changed ? "" : " (it already was)");
        ObjectNode body = Responses.JSON.createObjectNode();
        body.put("route", route);
        body.put("backend", backend.name());
        body.put("address", Listeners.format(backend.address()));
        body.put("drained", backend.drained());
        body.put("changed", changed);
        return Responses.json(body);
    }
}
