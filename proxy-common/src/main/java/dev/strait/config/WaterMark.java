package dev.strait.config;

import java.util.List;

/**
 * Write-buffer water marks, in bytes: above {@code high} a channel turns unwritable and the relay stops reading the
 * other side; below {@code low} it turns writable again and reading resumes.
 */
public record WaterMark(int low, int high) {

    public static final ConfigKey<Integer> LOW =
            ConfigKey.of("writeBufferWaterMark.low", "size", "32KiB", ConfigValues::size);
    public static final ConfigKey<Integer> HIGH =
            ConfigKey.of("writeBufferWaterMark.high", "size", "64KiB", ConfigValues::size);
    public static final List<ConfigKey<?>> KEYS = List.of(LOW, HIGH);

    public static final WaterMark DEFAULT = new WaterMark(LOW.defaultValue(), HIGH.defaultValue());

    public WaterMark {
        if (low < 0) {
            throw ConfigException.badValue("writeBufferWaterMark.low", low, "must not be negative");
        }
        if (high <= 0) {
            throw ConfigException.badValue("writeBufferWaterMark.high", high, "must be positive");
        }
        if (low > high) {
            throw new ConfigException(
                    "writeBufferWaterMark.low",
                    "bad value \"" + low + "\" (must not be above writeBufferWaterMark.high " + high + ")");
        }
    }
}
