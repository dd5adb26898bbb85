package dev.strait.balance;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * The outcome of one active health probe of a backend, as the admin endpoint reports it.
 *
 * @param up whether the probe succeeded
 * @param reason what the probe saw, e.g. {@code HTTP 200} or {@code connection refused}
 * @param at when the probe ended
 */
public record CheckResult(boolean up, String reason, Instant at) {
    public CheckResult {
        requireNonNull(reason, "reason");
        requireNonNull(at, "at");
    }
}
