package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * Per-route timeouts, in HAProxy's vocabulary. Every one of them: 0 disables it.
 *
 * @param connect how long one backend connect attempt may take (default 5s)
 * @param idle how long a connection may see no bytes in either direction before it is closed; disabled by default so
 *     that long database queries and quiet SSH sessions survive ({@link TcpKeepalive} still finds dead peers)
 * @param clientFin how long a connection may stay half-closed after the client's FIN; disabled by default
 * @param serverFin how long a connection may stay half-closed after the backend's FIN; disabled by default
 * @param queue how long a client is held while no backend is available (a failover window); disabled by default,
 *     so such a client is closed at once
 * @param maxLifetime a hard cut after this long, whatever the traffic; disabled by default
 * @param clientHello with {@code sni}: how long a client may take to send its whole ClientHello (default 10s)
 * @param silentClient with {@code sni}: a client that sends nothing for this long goes to the default backends (for
 *     server-first protocols); disabled by default
 */
public record Timeouts(
        Duration connect,
        Duration idle,
        Duration clientFin,
        Duration serverFin,
        Duration queue,
        Duration maxLifetime,
        Duration clientHello,
        Duration silentClient) {

    public static final ConfigKey<Duration> CONNECT = key("timeouts.connect", "5s");
    public static final ConfigKey<Duration> IDLE = key("timeouts.idle", "0s");
    public static final ConfigKey<Duration> CLIENT_FIN = key("timeouts.clientFin", "0s");
    public static final ConfigKey<Duration> SERVER_FIN = key("timeouts.serverFin", "0s");
    public static final ConfigKey<Duration> QUEUE = key("timeouts.queue", "0s");
    public static final ConfigKey<Duration> MAX_LIFETIME = key("timeouts.maxLifetime", "0s");
    public static final ConfigKey<Duration> CLIENT_HELLO = key("timeouts.clientHello", "10s");
    public static final ConfigKey<Duration> SILENT_CLIENT = key("timeouts.silentClient", "0s");
    public static final List<ConfigKey<?>> KEYS =
            List.of(CONNECT, IDLE, CLIENT_FIN, SERVER_FIN, QUEUE, MAX_LIFETIME, CLIENT_HELLO, SILENT_CLIENT);

    public static final Duration DEFAULT_CONNECT = CONNECT.defaultValue();

    public static final Timeouts DEFAULTS = new Timeouts(
            DEFAULT_CONNECT,
            IDLE.defaultValue(),
            CLIENT_FIN.defaultValue(),
            SERVER_FIN.defaultValue(),
            QUEUE.defaultValue(),
            MAX_LIFETIME.defaultValue(),
            CLIENT_HELLO.defaultValue(),
            SILENT_CLIENT.defaultValue());

    public Timeouts {
        check("connect", connect);
        check("idle", idle);
        check("clientFin", clientFin);
        check("serverFin", serverFin);
        check("queue", queue);
        check("maxLifetime", maxLifetime);
        check("clientHello", clientHello);
        check("silentClient", silentClient);
        if (connect.toMillis() > Integer.MAX_VALUE) {
            throw ConfigException.badValue(
                    "timeouts.connect", ConfigValues.format(connect), "at most " + Integer.MAX_VALUE + "ms");
        }
    }

    /** The six timeouts every route has; the SNI stage's two take their defaults. */
    public Timeouts(
            Duration connect,
            Duration idle,
            Duration clientFin,
            Duration serverFin,
            Duration queue,
            Duration maxLifetime) {
        this(
                connect,
                idle,
                clientFin,
                serverFin,
                queue,
                maxLifetime,
                CLIENT_HELLO.defaultValue(),
                SILENT_CLIENT.defaultValue());
    }

    /** This with the SNI stage's two timeouts. */
    public Timeouts withSni(Duration hello, Duration silent) {
        return new Timeouts(connect, idle, clientFin, serverFin, queue, maxLifetime, hello, silent);
    }

    /** Connect and idle as given, the rest disabled. */
    public Timeouts(Duration connect, Duration idle) {
        this(connect, idle, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    private static ConfigKey<Duration> key(String name, String defaultText) {
        return ConfigKey.of(name, "duration; 0s disables", defaultText, ConfigValues::duration);
    }

    private static void check(String name, Duration value) {
        requireNonNull(value, name);
        if (value.isNegative()) {
            throw ConfigException.badValue("timeouts." + name, value, "must not be negative");
        }
    }
}
