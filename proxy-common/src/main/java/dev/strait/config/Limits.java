package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Admission limits of one route. Established connections are never affected by a new client hitting a limit.
 *
 * @param maxConnections live connections on this route; 0 means no limit
 * @param onLimit what happens to a client beyond {@code maxConnections} or {@code acceptRate}
 * @param perSourceMaxConnections live connections from one client IP; 0 means no limit; beyond it, refused
 * @param acceptRate new connections per second; 0 means no limit
 */
public record Limits(int maxConnections, OnLimit onLimit, int perSourceMaxConnections, int acceptRate) {

    public static final ConfigKey<Integer> MAX_CONNECTIONS =
            ConfigKey.of("maxConnections", "integer; 0 = no limit", "0", ConfigValues::integer);
    public static final ConfigKey<OnLimit> ON_LIMIT =
            ConfigKey.of("onLimit", "refuse | queue", "refuse", OnLimit::parse);
    public static final ConfigKey<Integer> PER_SOURCE_MAX_CONNECTIONS =
            ConfigKey.of("perSourceMaxConnections", "integer; 0 = no limit", "0", ConfigValues::integer);
    public static final ConfigKey<Integer> ACCEPT_RATE =
            ConfigKey.of("acceptRate", "connections per second; 0 = no limit", "0", ConfigValues::integer);
    public static final List<ConfigKey<?>> KEYS =
            List.of(MAX_CONNECTIONS, ON_LIMIT, PER_SOURCE_MAX_CONNECTIONS, ACCEPT_RATE);

    public static final Limits NONE = new Limits(
            MAX_CONNECTIONS.defaultValue(),
            ON_LIMIT.defaultValue(),
            PER_SOURCE_MAX_CONNECTIONS.defaultValue(),
            ACCEPT_RATE.defaultValue());

    public Limits {
        requireNonNull(onLimit, "onLimit");
        if (maxConnections < 0) {
            throw ConfigException.badValue("maxConnections", maxConnections, "0 (no limit) or more");
        }
        if (perSourceMaxConnections < 0) {
            throw ConfigException.badValue("perSourceMaxConnections", perSourceMaxConnections, "0 (no limit) or more");
        }
        if (acceptRate < 0) {
            throw ConfigException.badValue("acceptRate", acceptRate, "0 (no limit) or more");
        }
    }
}
