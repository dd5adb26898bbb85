package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.balance.Backend;
import dev.strait.balance.CheckResult;
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
import java.time.Duration;
import java.time.Instant;
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
    private final TrafficSampler sampler;
    private final Optional<AdminToken> token;

    AdminApi(ProxyView server, TrafficSampler sampler, Optional<AdminToken> token) {
        this.server = requireNonNull(server, "server");
        this.sampler = requireNonNull(sampler, "sampler");
        this.token = requireNonNull(token, "token");
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
            return Responses.json(connections(ConnectionFilter.parse(uri.parameters())));
        }
        if (parts.length == 2 && parts[1].equals("routes")) {
            requireMethod(read, "GET, HEAD");
            return Responses.json(routes());
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
                address(found.client()),
                address(found.backend()),
                found.route(),
                reason.map(r -> ": " + r).orElse(""));
        found.close(CloseCause.ADMIN_CLOSE);
        ObjectNode body = Responses.JSON.createObjectNode();
        body.put("id", id);
        body.put("route", found.route());
        body.put("client", address(found.client()));
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

    private ObjectNode connections(ConnectionFilter filter) {
        long nowNanos = System.nanoTime();
        Instant now = Instant.now();
        ObjectNode root = Responses.JSON.createObjectNode();
        ArrayNode list = Responses.JSON.createArrayNode();
        for (ProxiedConnection c : server.liveConnections()) {
            if (!filter.test(c)) {
                continue;
            }
            TrafficSampler.Traffic traffic = sampler.traffic(c, nowNanos);
            ObjectNode n = list.addObject();
            n.put("id", c.id());
            n.put("route", c.route());
            n.put("client", address(c.client()));
            n.put("listener", address(c.listener()));
            Backend target = c.backendTarget();
            n.put("backend", c.backend() != null ? address(c.backend()) : target == null ? null : target.name());
            n.put("backendLocal", address(c.backendLocal()));
            n.put("state", c.state().name());
            n.put("startedAt", c.started().toString());
            n.put("ageSeconds", round(Duration.between(c.started(), now).toMillis() / 1000.0));
            n.put("idleSeconds", round(traffic.idleSeconds()));
            n.put("bytesFromClient", c.bytesFromClient());
            n.put("bytesFromBackend", c.bytesFromBackend());
            n.put("rateFromClient", round(traffic.rateFromClient()));
            n.put("rateFromBackend", round(traffic.rateFromBackend()));
            n.put("spliced", c.bytesSpliced() > 0);
            n.put("bytesSpliced", c.bytesSpliced());
        }
        root.put("count", list.size());
        root.set("connections", list);
        return root;
    }

    private ObjectNode routes() {
        ObjectNode root = Responses.JSON.createObjectNode();
        root.put("tokenConfigured", token.isPresent());
        root.put("intervalSeconds", 1);
        Map<String, List<TrafficSampler.Point>> history = sampler.history();
        ArrayNode list = root.putArray("routes");
        server.routeMetrics().forEach((name, metrics) -> {
            List<Backend> backends;
            boolean checked;
            try {
                backends = server.backends(name);
                checked = server.activelyChecked(name);
            } catch (IllegalArgumentException e) {
                return; // removed by a reload since the names were read
            }
            ObjectNode r = list.addObject();
            r.put("name", name);
            r.put("activeConnections", metrics.active());
            ArrayNode bs = r.putArray("backends");
            backends.forEach(b -> backend(bs.addObject(), b, checked));
            ArrayNode points = r.putArray("throughput");
            history.getOrDefault(name, List.of()).forEach(p -> points.addArray()
                    .add(p.epochMillis())
                    .add(round(p.fromClient()))
                    .add(round(p.fromBackend())));
        });
        return root;
    }

    /** One backend as {@code /backends} and {@code /api/routes} show it. */
    static void backend(ObjectNode n, Backend b, boolean checked) {
        n.put("name", b.name());
        n.put("address", address(b.address()));
        n.put("healthy", b.healthy());
        n.put("check", checked ? (b.healthy() ? "up" : "down") : "unchecked");
        n.put("drained", b.drained());
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
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    static String address(SocketAddress address) {
        return address == null ? null : Listeners.format(address);
    }
}
