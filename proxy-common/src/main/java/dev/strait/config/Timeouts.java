package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Per-route timeouts, in HAProxy's vocabulary.
 *
 * @param connect how long to wait for a backend to accept the connection; 0 disables (the OS limit applies)
 * @param idle how long a connection may see no bytes in either direction before it is closed; 0 disables, which is
 *     the default so that long database queries and quiet SSH sessions survive (TCP keepalive stays on)
 */
public record Timeouts(Duration connect, Duration idle) {

    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(5);

    public static final Timeouts DEFAULTS = new Timeouts(DEFAULT_CONNECT, Duration.ZERO);

    public Timeouts {
        requireNonNull(connect, "connect");
        requireNonNull(idle, "idle");
        if (connect.isNegative()) {
            throw ConfigException.badValue("timeouts.connect", connect, "must not be negative");
        }
        if (idle.isNegative()) {
            throw ConfigException.badValue("timeouts.idle", idle, "must not be negative");
        }
        if (connect.toMillis() > Integer.MAX_VALUE) {
            throw ConfigException.badValue("timeouts.connect", connect, "at most " + Integer.MAX_VALUE + "ms");
        }
    }
}
