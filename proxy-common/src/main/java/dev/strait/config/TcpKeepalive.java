package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * TCP keepalive on both sockets of a connection, the client's and the backend's (nginx's {@code so_keepalive=},
 * HAProxy's {@code clitcpka-*} and {@code srvtcpka-*}): after {@code idle} without traffic the kernel sends a probe
 * every {@code interval}, and resets the connection after {@code count} unanswered ones. The default idle time stays
 * below the idle cut-offs of cloud load balancers (4 to about 6 minutes), so quiet connections through one survive.
 * An {@code idle} of 0 disables keepalive (SO_KEEPALIVE off).
 *
 * @param idle time without traffic before the first probe, whole seconds; 0 disables keepalive
 * @param interval time between probes, whole seconds
 * @param count unanswered probes after which the kernel resets the connection
 */
public record TcpKeepalive(Duration idle, Duration interval, int count) {

    /** The kernel's ceiling for TCP_KEEPIDLE and TCP_KEEPINTVL, in seconds (Linux's MAX_TCP_KEEPIDLE). */
    private static final long MAX_SECONDS = 32767;
    /** The kernel's ceiling for TCP_KEEPCNT (Linux's MAX_TCP_KEEPCNT). */
    private static final int MAX_COUNT = 127;

    public static final ConfigKey<Duration> IDLE =
            ConfigKey.of("tcpKeepalive.idle", "duration; 0s disables", "60s", ConfigValues::duration);
    public static final ConfigKey<Duration> INTERVAL =
            ConfigKey.of("tcpKeepalive.interval", "duration", "10s", ConfigValues::duration);
    public static final ConfigKey<Integer> COUNT =
            ConfigKey.of("tcpKeepalive.count", "integer", "3", ConfigValues::integer);
    public static final List<ConfigKey<?>> KEYS = List.of(IDLE, INTERVAL, COUNT);

    public static final TcpKeepalive DEFAULTS =
            new TcpKeepalive(IDLE.defaultValue(), INTERVAL.defaultValue(), COUNT.defaultValue());

    public TcpKeepalive {
        requireNonNull(idle, "idle");
        requireNonNull(interval, "interval");
        if (!idle.isZero()) {
            requireSeconds(IDLE, idle);
            requireSeconds(INTERVAL, interval);
        } else if (interval.isNegative()) {
            throw ConfigException.badValue(INTERVAL.name(), ConfigValues.format(interval), "must not be negative");
        }
        if (count < 1 || count > MAX_COUNT) {
            throw ConfigException.badValue(COUNT.name(), count, "1 to " + MAX_COUNT);
        }
    }

    /** Whether keepalive is on (SO_KEEPALIVE). */
    public boolean enabled() {
        return !idle.isZero();
    }

    /** The idle time in seconds, for TCP_KEEPIDLE. */
    public int idleSeconds() {
        return (int) idle.toSeconds();
    }

    /** The probe interval in seconds, for TCP_KEEPINTVL. */
    public int intervalSeconds() {
        return (int) interval.toSeconds();
    }

    // The kernel takes whole seconds: a fraction would be cut off without a word, so it is refused instead.
    private static void requireSeconds(ConfigKey<Duration> key, Duration value) {
        if (value.toNanosPart() != 0 || value.toSeconds() < 1 || value.toSeconds() > MAX_SECONDS) {
            throw ConfigException.badValue(
                    key.name(),
                    ConfigValues.format(value),
                    "whole seconds, 1s to " + MAX_SECONDS + "s; 0s idle disables");
        }
    }
}
