package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * The limits of a traffic capture: how long it takes new connections, and how many payload bytes it keeps in all and
 * per connection side and direction. A route's {@code capture} block starts one when the route starts; the admin
 * endpoint starts others with the same limits.
 *
 * @param duration how long; 1s to 24h
 * @param maxBytes payload bytes kept in all; 1 to 1 GiB
 * @param maxBytesPerConnection payload bytes kept per connection side and direction; 1 to {@code maxBytes}
 */
public record RouteCapture(Duration duration, long maxBytes, long maxBytesPerConnection) {
    public static final long MAX_BYTES_LIMIT = 1L << 30;

    public static final ConfigKey<Duration> SECONDS =
            ConfigKey.of("capture.seconds", "duration, 1s to 24h", "60s", ConfigValues::duration);
    public static final ConfigKey<Integer> MAX_BYTES =
            ConfigKey.of("capture.maxBytes", "size, up to 1GiB", "1048576", ConfigValues::size);
    public static final ConfigKey<Integer> MAX_BYTES_PER_CONNECTION =
            ConfigKey.optional("capture.maxBytesPerConnection", "size, up to maxBytes", ConfigValues::size);
    public static final List<ConfigKey<?>> KEYS = List.of(SECONDS, MAX_BYTES, MAX_BYTES_PER_CONNECTION);

    public RouteCapture {
        requireNonNull(duration, "duration");
        if (duration.compareTo(Duration.ofSeconds(1)) < 0 || duration.compareTo(Duration.ofHours(24)) > 0) {
            throw ConfigException.badValue(SECONDS.name(), ConfigValues.format(duration), "1s to 24h");
        }
        if (maxBytes < 1 || maxBytes > MAX_BYTES_LIMIT) {
            throw ConfigException.badValue(MAX_BYTES.name(), maxBytes, "1 to " + MAX_BYTES_LIMIT + " (1GiB)");
        }
        if (maxBytesPerConnection < 1 || maxBytesPerConnection > maxBytes) {
            throw ConfigException.badValue(
                    MAX_BYTES_PER_CONNECTION.name(), maxBytesPerConnection, "1 to maxBytes (" + maxBytes + ")");
        }
    }
}
