package dev.strait.server.accesslog;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * One route's access log: which lines it wants (at close always; at connect and periodically if configured) and the
 * writer they go to. Immutable; a reload makes a new one for new connections.
 *
 * @param writer where the lines go
 * @param onConnect whether a line is written when the backend is connected
 * @param periodic how often a progress line is written for an open connection; 0 never
 */
public record AccessLogger(AccessLogWriter writer, boolean onConnect, Duration periodic) {
    public AccessLogger {
        requireNonNull(writer, "writer");
        requireNonNull(periodic, "periodic");
    }

    /** Queues a line (never blocks). */
    public void log(AccessLogLine line) {
        writer.write(line);
    }
}
