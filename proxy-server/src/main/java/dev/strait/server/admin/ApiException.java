package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.List;
import java.util.Map;

/**
 * A request the API refuses, with the status and the one-line reason the client gets as JSON. Expected, so it
 * carries no stack trace.
 */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient HttpResponseStatus status;
    private final transient List<Map.Entry<String, String>> headers;

    ApiException(HttpResponseStatus status, String message) {
        this(status, message, List.of());
    }

    ApiException(HttpResponseStatus status, String message, List<Map.Entry<String, String>> headers) {
        super(requireNonNull(message, "message"), null, false, false);
        this.status = requireNonNull(status, "status");
        this.headers = List.copyOf(headers);
    }

    static ApiException badRequest(String message) {
        return new ApiException(HttpResponseStatus.BAD_REQUEST, message);
    }

    static ApiException notFound(String message) {
        return new ApiException(HttpResponseStatus.NOT_FOUND, message);
    }

    HttpResponseStatus status() {
        return status;
    }

    List<Map.Entry<String, String>> headers() {
        return headers;
    }
}
