package dev.strait.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the config's scalar notations: durations ({@code 5s}, {@code 1m30s}) and sizes ({@code 64KiB}). */
public final class ConfigValues {
    /** The longest duration a config may give; also keeps every timer's nanoseconds far from overflow. */
    public static final Duration MAX_DURATION = Duration.ofDays(365);

    private static final BigDecimal MAX_DURATION_NANOS = BigDecimal.valueOf(MAX_DURATION.toNanos());
    private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);
    private static final String AMOUNT = "\\d{1,20}(?:\\.\\d{1,9})?";
    private static final Pattern BARE_SECONDS = Pattern.compile(AMOUNT);
    private static final Pattern COMPOUND_DURATION = Pattern.compile("(?:" + AMOUNT + "(?:ms|s|m|h|d))+");
    private static final Pattern DURATION_PART = Pattern.compile("(" + AMOUNT + ")(ms|s|m|h|d)");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|KB|MB|GB|k|m|g)?");

    private ConfigValues() {}

    /**
     * A duration as Go's {@code time.ParseDuration} and HAProxy users write it: one or more amounts, each with a unit
     * ({@code ms}, {@code s}, {@code m}, {@code h}, {@code d}) and optionally a fraction: {@code 0s}, {@code 250ms},
     * {@code 1.5s}, {@code 2m30s}, {@code 1h30m}, {@code 1d}. A bare number ({@code 30}, {@code 0.5}) is seconds.
     * Precision stops at the nanosecond.
     */
    public static Duration duration(String key, String text) {
        String trimmed = text.trim();
        if (BARE_SECONDS.matcher(trimmed).matches()) {
            return capped(key, text, new BigDecimal(trimmed).multiply(NANOS_PER_SECOND));
        }
        if (!COMPOUND_DURATION.matcher(trimmed).matches()) {
            throw ConfigException.badValue(key, text, "expected a duration like 250ms, 1.5s, 2m30s, 1h");
        }
        BigDecimal nanos = BigDecimal.ZERO;
        Matcher part = DURATION_PART.matcher(trimmed);
        while (part.find()) {
            nanos = nanos.add(new BigDecimal(part.group(1)).multiply(unitNanos(part.group(2))));
        }
        return capped(key, text, nanos);
    }

    private static BigDecimal unitNanos(String unit) {
        long nanos =
                switch (unit) {
                    case "ms" -> 1_000_000L;
                    case "s" -> 1_000_000_000L;
                    case "m" -> 60L * 1_000_000_000L;
                    case "h" -> 3600L * 1_000_000_000L;
                    default -> 86_400L * 1_000_000_000L;
                };
        return BigDecimal.valueOf(nanos);
    }

    private static Duration capped(String key, String text, BigDecimal nanos) {
        if (nanos.compareTo(MAX_DURATION_NANOS) > 0) {
            throw ConfigException.badValue(key, text, "at most 365d");
        }
        return Duration.ofNanos(nanos.longValue());
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

    /** A file path, not empty; whether it exists is checked by whoever reads it. */
    public static java.nio.file.Path path(String key, String text) {
        String trimmed = text.trim();
        if (trimmed.isEmpty() || trimmed.indexOf('\0') >= 0) {
            throw ConfigException.badValue(key, text, "expected a file path");
        }
        return java.nio.file.Path.of(trimmed);
    }

    /** Text taken as it is. */
    public static String text(String key, String text) {
        return text;
    }

    /** Formats a duration the way the config writes it, largest unit first: {@code 0s}, {@code 250ms}, {@code 1h30m}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        StringBuilder text = new StringBuilder(ms < 0 ? "-" : "");
        long rest = Math.abs(ms);
        long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
        String[] names = {"d", "h", "m", "s", "ms"};
        for (int i = 0; i < units.length; i++) {
            if (rest >= units[i]) {
                text.append(rest / units[i]).append(names[i]);
                rest %= units[i];
            }
        }
        return text.toString();
    }
}
