package dev.strait.server.route;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.Logger;

/**
 * Logs a recurring warning at most once per interval, saying how many were held back since the last line; for
 * events that come in storms (descriptors running out) where one line per event would flood the log. Thread-safe.
 */
final class RateLimitedWarning {
    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextAllowed = new AtomicLong(System.nanoTime());
    private final AtomicLong heldBack = new AtomicLong();

    RateLimitedWarning(Logger log, Duration interval) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
    }

    void warn(String message) {
        long now = System.nanoTime();
        long allowed = nextAllowed.get();
        if (now - allowed >= 0 && nextAllowed.compareAndSet(allowed, now + intervalNanos)) {
            long held = heldBack.getAndSet(0);
            log.warn("{}{}", message, held == 0 ? "" : " (" + held + " more like it since the last line)");
        } else {
            heldBack.incrementAndGet();
        }
    }
}
