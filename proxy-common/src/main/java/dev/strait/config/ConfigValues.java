package dev.strait.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the config's scalar notations: durations ({@code 5s}, {@code 250ms}) and sizes ({@code 64KiB}). */
public final class ConfigValues {
    /** The longest duration a config may give; also keeps every timer's nanoseconds far from overflow. */
    public static final Duration MAX_DURATION = Duration.ofDays(365);

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)?");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|KB|MB|GB|k|m|g)?");

    private ConfigValues() {}

    /** A duration such as {@code 0s}, {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}, {@code 1d}; a bare number is seconds. */
    public static Duration duration(String key, String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw ConfigException.badValue(key, text, "expected a duration like 250ms, 5s, 2m, 1h");
        }
        long amount;
        try {
            amount = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "number too large");
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration duration;
        try {
            duration = switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        } catch (ArithmeticException e) {
            duration = MAX_DURATION.plusDays(1);
        }
        if (duration.compareTo(MAX_DURATION) > 0) {
            throw ConfigException.badValue(key, text, "at most 365d");
        }
        return duration;
    }

    /** A size in bytes such as {@code 65536}, {@code 64KiB}, {@code 1MiB}; KB/MB/GB are taken as binary units too. */
    public static int size(String key, String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw ConfigException.badValue(key, text, "expected a size like 65536, 32KiB or 1MiB");
        }
        long amount;
        try {
            amount = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "number too large");
        }
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        long multiplier =
                switch (unit.charAt(0)) {
                    case 'K' -> 1024L;
                    case 'M' -> 1024L * 1024;
                    case 'G' -> 1024L * 1024 * 1024;
                    default -> 1L;
                };
        long bytes = amount * multiplier;
        if (bytes > Integer.MAX_VALUE) {
            throw ConfigException.badValue(key, text, "at most 2GiB");
        }
        return (int) bytes;
    }

    /** A whole number such as {@code 0} or {@code 1024}. */
    public static int integer(String key, String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "expected a whole number");
        }
    }

    /** {@code true} or {@code false}. */
    public static boolean bool(String key, String text) {
        String trimmed = text.trim();
        if (trimmed.equals("true") || trimmed.equals("false")) {
            return Boolean.parseBoolean(trimmed);
        }
        throw ConfigException.badValue(key, trimmed, "expected true or false");
    }

    /** Text taken as it is. */
    public static String text(String key, String text) {
        return text;
    }

    /** Formats a duration the way the config writes it. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        return (ms / 1000) + "s";
    }
}
