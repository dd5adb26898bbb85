package dev.strait.config;

/**
 * Write-buffer water marks, in bytes: above {@code high} a channel turns unwritable and the relay stops reading the
 * other side; below {@code low} it turns writable again and reading resumes.
 */
public record WaterMark(int low, int high) {

    public static final WaterMark DEFAULT = new WaterMark(32 * 1024, 64 * 1024);

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
