package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Passive health: after {@code failures} failed connects in a row from real clients, a backend is taken out for
 * {@code coolOff}, then tried again. {@code failures} 0 disables it (the default).
 */
public record PassiveCheck(int failures, Duration coolOff) {

    public static final PassiveCheck DISABLED = new PassiveCheck(0, Duration.ofSeconds(10));

    public PassiveCheck {
        requireNonNull(coolOff, "coolOff");
        if (failures < 0 || failures > 1000) {
            throw ConfigException.badValue("passiveCheck.failures", failures, "0 (off) to 1000");
        }
        if (coolOff.isNegative() || coolOff.isZero()) {
            throw ConfigException.badValue("passiveCheck.coolOff", ConfigValues.format(coolOff), "above 0");
        }
    }

    public boolean enabled() {
        return failures > 0;
    }
}
