package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The access log: one line per connection when it closes (like HAProxy's {@code option tcplog}), written off the event
 * loops. Set at the top level ({@code accessLog:}) and overridden per route key by key.
 *
 * @param enabled whether the route's connections are logged
 * @param format {@code text} (key=value pairs in a fixed order) or {@code json} (one object per line)
 * @param target {@code stdout}, or the path of a file opened at start (appended to) and reopened on SIGHUP
 * @param onConnect also log a line when the backend is connected
 * @param periodic also log a progress line this often for a connection still open; 0 disables
 */
public record AccessLog(boolean enabled, Format format, String target, boolean onConnect, Duration periodic) {

    /** How a line is written. */
    public enum Format {
        TEXT,
        JSON;

        static Format parse(String key, String text) {
            return switch (text.trim()) {
                case "text" -> TEXT;
                case "json" -> JSON;
                default -> throw ConfigException.badValue(key, text, "text | json");
            };
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The target that means the process's standard output. */
    public static final String STDOUT = "stdout";

    public static final ConfigKey<Boolean> ENABLED =
            ConfigKey.of("accessLog.enabled", "true | false", "true", ConfigValues::bool);
    public static final ConfigKey<Format> FORMAT =
            ConfigKey.of("accessLog.format", "text | json", "text", Format::parse);
    public static final ConfigKey<String> TARGET =
            ConfigKey.of("accessLog.target", "stdout | file path", STDOUT, AccessLog::target);
    public static final ConfigKey<Boolean> ON_CONNECT =
            ConfigKey.of("accessLog.onConnect", "true | false", "false", ConfigValues::bool);
    public static final ConfigKey<Duration> PERIODIC =
            ConfigKey.of("accessLog.periodic", "duration; 0s disables", "0s", ConfigValues::duration);
    public static final List<ConfigKey<?>> KEYS = List.of(ENABLED, FORMAT, TARGET, ON_CONNECT, PERIODIC);

    /** Enabled, text, to stdout, at close only. */
    public static final AccessLog DEFAULTS = new AccessLog(
            ENABLED.defaultValue(),
            FORMAT.defaultValue(),
            TARGET.defaultValue(),
            ON_CONNECT.defaultValue(),
            PERIODIC.defaultValue());

    /** The shortest {@code periodic}: a progress line per connection more often than this is a flood. */
    public static final Duration MIN_PERIODIC = Duration.ofSeconds(1);

    public AccessLog {
        requireNonNull(format, "format");
        target(TARGET.name(), requireNonNull(target, "target"));
        requireNonNull(periodic, "periodic");
        if (!periodic.isZero() && periodic.compareTo(MIN_PERIODIC) < 0) {
            throw ConfigException.badValue(
                    PERIODIC.name(),
                    ConfigValues.format(periodic),
                    "0s (off) or at least " + MIN_PERIODIC.toSeconds() + "s");
        }
    }

    /** Whether lines go to standard output rather than a file. */
    public boolean toStdout() {
        return STDOUT.equals(target);
    }

    private static String target(String key, String text) {
        if (text.isBlank() || text.indexOf('\0') >= 0) {
            throw ConfigException.badValue(key, text, "stdout or a file path");
        }
        return text;
    }
}
