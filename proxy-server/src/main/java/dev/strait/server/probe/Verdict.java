package dev.strait.server.probe;

import static java.util.Objects.requireNonNull;

/**
 * What one probe concluded about a backend.
 *
 * @param up whether the backend passed
 * @param reason what the probe saw, one line: {@code HTTP 200}, {@code connection refused}, ...
 */
public record Verdict(boolean up, String reason) {
    public Verdict {
        requireNonNull(reason, "reason");
    }

    static Verdict up(String reason) {
        return new Verdict(true, reason);
    }

    static Verdict down(String reason) {
        return new Verdict(false, reason);
    }
}
