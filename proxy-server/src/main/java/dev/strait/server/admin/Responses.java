package dev.strait.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** Builds the admin endpoint's responses: JSON, plain text and JSON errors, each with the same security headers. */
final class Responses {
    /** Thread-safe once configured; shared by the admin endpoint's handlers. */
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The page's scripts and styles come from this endpoint only: no inline script, no other origin, no framing.
     * Every response carries it, so that a JSON answer opened in a browser cannot run anything either.
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private Responses() {}

    static FullHttpResponse json(HttpResponseStatus status, ObjectNode body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of plain nodes always serialises", e);
        }
        return bytes(status, bytes, HttpHeaderValues.APPLICATION_JSON + "; charset=utf-8");
    }

    static FullHttpResponse json(ObjectNode body) {
        return json(HttpResponseStatus.OK, body);
    }

    /** A JSON error: {@code {"status": 404, "error": "..."}}, never a stack trace. */
    static FullHttpResponse error(HttpResponseStatus status, String message) {
        ObjectNode body = JSON.createObjectNode();
        body.put("status", status.code());
        body.put("error", message);
        return json(status, body);
    }

    static FullHttpResponse error(ApiException e) {
        FullHttpResponse response = error(e.status(), e.getMessage());
        e.headers().forEach(h -> response.headers().set(h.getKey(), h.getValue()));
        return response;
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        return bytes(status, body.getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
    }

    static FullHttpResponse bytes(HttpResponseStatus status, byte[] body, CharSequence contentType) {
        ByteBuf content = Unpooled.wrappedBuffer(body);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        return response;
    }

    /** The headers every admin response carries. */
    static void secure(HttpHeaders headers) {
        headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "no-referrer");
        headers.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    }
}
