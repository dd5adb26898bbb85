package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Per-route timeouts, in HAProxy's vocabulary. Every one of them: 0 disables it.
 *
 * @param connect how long one backend connect attempt may take (default 5s)
 * @param idle how long a connection may see no bytes in either direction before it is closed; disabled by default so
 *     that long database queries and quiet SSH sessions survive (TCP keepalive stays on)
 * @param clientFin how long a connection may stay half-closed after the client's FIN; disabled by default
 * @param serverFin how long a connection may stay half-closed after the backend's FIN; disabled by default
 * @param queue how long a client is held while no backend is available (a failover window); disabled by default,
 *     so such a client is closed at once
 * @param maxLifetime a hard cut after this long, whatever the traffic; disabled by default
 */
public record Timeouts(
        Duration connect, Duration idle, Duration clientFin, Duration serverFin, Duration queue, Duration maxLifetime) {

    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(5);

    public static final Timeouts DEFAULTS =
            new Timeouts(DEFAULT_CONNECT, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);

    public Timeouts {
        check("connect", connect);
        check("idle", idle);
        check("clientFin", clientFin);
        check("serverFin", serverFin);
        check("queue", queue);
        check("maxLifetime", maxLifetime);
        if (connect.toMillis() > Integer.MAX_VALUE) {
            throw ConfigException.badValue(
                    "timeouts.connect", ConfigValues.format(connect), "at most " + Integer.MAX_VALUE + "ms");
        }
    }

    /** Connect and idle as given, the rest disabled. */
    public Timeouts(Duration connect, Duration idle) {
        this(connect, idle, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    private static void check(String name, Duration value) {
        requireNonNull(value, name);
        if (value.isNegative()) {
            throw ConfigException.badValue("timeouts." + name, value, "must not be negative");
        }
    }
}
