package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.config.RouteCapture;
import dev.strait.server.capture.Capture;
import dev.strait.server.capture.CaptureRequest;
import dev.strait.server.capture.Captures;
import dev.strait.transport.ErrorText;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * The capture endpoints under {@code /api/captures}: start ({@code POST}), list and show ({@code GET}), download
 * ({@code GET /api/captures/{id}.pcap}), stop ({@code POST /api/captures/{id}/stop}) and delete ({@code DELETE}).
 * Answers are JSON; errors are JSON with a 400, 404 or 409 and never touch a live connection.
 */
final class CaptureApi {
    static final String PREFIX = "/api/captures";
    private static final Set<String> REQUEST_FIELDS =
            Set.of("route", "client", "seconds", "maxBytes", "maxBytesPerConnection");

    /** What a request gets: a JSON answer, or a capture file to stream. */
    sealed interface Reply {}

    record Json(HttpResponseStatus status, ObjectNode body) implements Reply {}

    record File(Capture capture) implements Reply {}

    private final ObjectMapper json;
    private final ProxyView server;

    CaptureApi(ObjectMapper json, ProxyView server) {
        this.json = requireNonNull(json, "json");
        this.server = requireNonNull(server, "server");
    }

    /** Whether {@code path} is one of this API's. */
    static boolean handles(String path) {
        return path.equals(PREFIX) || path.startsWith(PREFIX + "/");
    }

    Reply handle(HttpMethod method, String path, byte[] body) {
        Captures captures = server.captures();
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length() + 1) : "";
        if (rest.isEmpty()) {
            if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
                ObjectNode root = json.createObjectNode();
                ArrayNode list = root.putArray("captures");
                captures.list().forEach(c -> list.add(describe(c)));
                return new Json(HttpResponseStatus.OK, root);
            }
            if (HttpMethod.POST.equals(method)) {
                return start(captures, body);
            }
            return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET or POST on " + PREFIX);
        }
        if (rest.endsWith(".pcap") && (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method))) {
            String id = rest.substring(0, rest.length() - ".pcap".length());
            return captures.find(id).<Reply>map(File::new).orElseGet(() -> unknown(id));
        }
        if (rest.endsWith("/stop") && HttpMethod.POST.equals(method)) {
            String id = rest.substring(0, rest.length() - "/stop".length());
            return captures.stop(id) ? show(captures, id) : unknown(id);
        }
        if (rest.contains("/")) {
            return error(HttpResponseStatus.NOT_FOUND, "no such endpoint: " + path);
        }
        if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
            return show(captures, rest);
        }
        if (HttpMethod.DELETE.equals(method)) {
            try {
                if (!captures.delete(rest)) {
                    return unknown(rest);
                }
            } catch (IOException e) {
                return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot delete its file: " + ErrorText.of(e));
            }
            ObjectNode done = json.createObjectNode();
            done.put("deleted", rest);
            return new Json(HttpResponseStatus.OK, done);
        }
        return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET or DELETE on " + path);
    }

    private Reply start(Captures captures, byte[] body) {
        JsonNode request;
        try {
            request = json.readTree(body);
        } catch (IOException e) {
            return error(HttpResponseStatus.BAD_REQUEST, "the body is not JSON");
        }
        if (request == null || !request.isObject()) {
            return error(HttpResponseStatus.BAD_REQUEST, "the body must be a JSON object");
        }
        for (var names = request.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!REQUEST_FIELDS.contains(name)) {
                return error(
                        HttpResponseStatus.BAD_REQUEST, "unknown field \"" + name + "\"; known: " + REQUEST_FIELDS);
            }
        }
        JsonNode route = request.get("route");
        if (route == null || !route.isTextual()) {
            return error(HttpResponseStatus.BAD_REQUEST, "\"route\" (a route's name) is required");
        }
        if (!server.routeMetrics().containsKey(route.asText())) {
            return error(HttpResponseStatus.NOT_FOUND, "no route named \"" + route.asText() + "\"");
        }
        CaptureRequest parsed;
        try {
            Optional<Cidr> client = Optional.empty();
            JsonNode cidr = request.get("client");
            if (cidr != null && !cidr.isNull()) {
                if (!cidr.isTextual()) {
                    return error(HttpResponseStatus.BAD_REQUEST, "\"client\" must be a CIDR string");
                }
                client = Optional.of(Cidr.parse("client", cidr.asText()));
            }
            long seconds = number(request, "seconds", CaptureRequest.DEFAULT_DURATION.toSeconds());
            long maxBytes = number(request, "maxBytes", CaptureRequest.DEFAULT_MAX_BYTES);
            long perConnection = number(request, "maxBytesPerConnection", maxBytes);
            parsed = new CaptureRequest(
                    route.asText(), client, new RouteCapture(Duration.ofSeconds(seconds), maxBytes, perConnection));
        } catch (ConfigException | IllegalArgumentException e) {
            return error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
        try {
            return new Json(HttpResponseStatus.CREATED, describe(captures.start(parsed)));
        } catch (IllegalStateException e) {
            return error(HttpResponseStatus.CONFLICT, e.getMessage());
        } catch (IOException e) {
            return error(
                    HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot create the capture file: " + ErrorText.of(e));
        }
    }

    private static long number(JsonNode request, String field, long otherwise) {
        JsonNode n = request.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.canConvertToLong() || !n.isIntegralNumber()) {
            throw new IllegalArgumentException("\"" + field + "\" must be a whole number, got " + n);
        }
        return n.asLong();
    }

    private Reply show(Captures captures, String id) {
        return captures.find(id)
                .<Reply>map(c -> new Json(HttpResponseStatus.OK, describe(c)))
                .orElseGet(() -> unknown(id));
    }

    private ObjectNode describe(Capture c) {
        ObjectNode n = json.createObjectNode();
        n.put("id", c.id());
        n.put("route", c.request().route());
        n.put("client", c.request().client().map(Cidr::text).orElse(null));
        n.put("status", c.status().label());
        n.put("startedAt", c.started().toString());
        n.put("seconds", c.request().duration().toSeconds());
        n.put("maxBytes", c.request().maxBytes());
        n.put("maxBytesPerConnection", c.request().maxBytesPerConnection());
        n.put("connections", c.connections());
        n.put("capturedBytes", c.capturedBytes());
        n.put("droppedBytes", c.droppedBytes());
        n.put("fileBytes", c.completeBytes());
        n.put("download", PREFIX + "/" + c.id() + ".pcap");
        return n;
    }

    private Json unknown(String id) {
        return error(HttpResponseStatus.NOT_FOUND, "no capture with id \"" + id + "\"");
    }

    private Json error(HttpResponseStatus status, String message) {
        ObjectNode n = json.createObjectNode();
        n.put("error", message);
        n.put("status", status.code());
        return new Json(status, n);
    }
}
