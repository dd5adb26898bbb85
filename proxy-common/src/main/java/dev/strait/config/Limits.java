package dev.strait.config;

import static java.util.Objects.requireNonNull;

/**
 * Admission limits of one route. Established connections are never affected by a new client hitting a limit.
 *
 * @param maxConnections live connections on this route; 0 means no limit
 * @param onLimit what happens to a client beyond {@code maxConnections} or {@code acceptRate}
 * @param perSourceMaxConnections live connections from one client IP; 0 means no limit; beyond it, refused
 * @param acceptRate new connections per second; 0 means no limit
 */
public record Limits(int maxConnections, OnLimit onLimit, int perSourceMaxConnections, int acceptRate) {

    public static final Limits NONE = new Limits(0, OnLimit.REFUSE, 0, 0);

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
