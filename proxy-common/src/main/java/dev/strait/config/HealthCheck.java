package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Active health checks for a route's backends: every {@code interval} each backend address is probed with a TCP
 * connect (and, if {@code send}/{@code expect} are set, a request and the start of the expected reply) that must
 * succeed within {@code timeout}. A backend goes down after {@code fall} failed probes in a row and comes back after
 * {@code rise} good ones.
 *
 * @param interval time between probes of one backend
 * @param timeout how long one probe may take
 * @param rise consecutive good probes that bring a down backend back
 * @param fall consecutive failed probes that take a backend down
 * @param send bytes to send after connecting (UTF-8, with \r \n escapes expanded by the loader), if any
 * @param expect bytes the reply must start with, if any
 * @param closeOnDown whether established connections to a backend are closed when it goes down
 */
public record HealthCheck(
        Duration interval,
        Duration timeout,
        int rise,
        int fall,
        Optional<String> send,
        Optional<String> expect,
        boolean closeOnDown) {

    public static final ConfigKey<Duration> INTERVAL =
            ConfigKey.of("healthCheck.interval", "duration", "2s", ConfigValues::duration);
    public static final ConfigKey<Duration> TIMEOUT =
            ConfigKey.of("healthCheck.timeout", "duration", "1s", ConfigValues::duration);
    public static final ConfigKey<Integer> RISE =
            ConfigKey.of("healthCheck.rise", "integer", "2", ConfigValues::integer);
    public static final ConfigKey<Integer> FALL =
            ConfigKey.of("healthCheck.fall", "integer", "3", ConfigValues::integer);
    public static final ConfigKey<String> SEND = ConfigKey.optional("healthCheck.send", "text", ConfigValues::text);
    public static final ConfigKey<String> EXPECT = ConfigKey.optional("healthCheck.expect", "text", ConfigValues::text);
    public static final ConfigKey<Boolean> CLOSE_ON_DOWN =
            ConfigKey.of("healthCheck.closeOnDown", "true | false", "false", ConfigValues::bool);
    public static final List<ConfigKey<?>> KEYS = List.of(INTERVAL, TIMEOUT, RISE, FALL, SEND, EXPECT, CLOSE_ON_DOWN);

    public static final HealthCheck DEFAULTS = new HealthCheck(
            INTERVAL.defaultValue(),
            TIMEOUT.defaultValue(),
            RISE.defaultValue(),
            FALL.defaultValue(),
            Optional.empty(),
            Optional.empty(),
            CLOSE_ON_DOWN.defaultValue());

    public HealthCheck {
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(send, "send");
        requireNonNull(expect, "expect");
        if (interval.toMillis() < 10) {
            throw ConfigException.badValue("healthCheck.interval", ConfigValues.format(interval), "at least 10ms");
        }
        if (timeout.toMillis() < 1 || timeout.compareTo(interval) > 0) {
            throw ConfigException.badValue(
                    "healthCheck.timeout", ConfigValues.format(timeout), "between 1ms and the interval");
        }
        if (rise < 1 || rise > 100) {
            throw ConfigException.badValue("healthCheck.rise", rise, "1 to 100");
        }
        if (fall < 1 || fall > 100) {
            throw ConfigException.badValue("healthCheck.fall", fall, "1 to 100");
        }
    }
}
