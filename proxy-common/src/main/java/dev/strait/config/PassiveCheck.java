package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * Passive health: after {@code failures} failed connects in a row from real clients, a backend is taken out for
 * {@code coolOff}, then tried again. {@code failures} 0 disables it; a route without a {@code passiveCheck} block has it
 * disabled, and a block that leaves {@code failures} out gets 3.
 */
public record PassiveCheck(int failures, Duration coolOff) {

    public static final ConfigKey<Integer> FAILURES =
            ConfigKey.of("passiveCheck.failures", "integer; 0 disables", "3", ConfigValues::integer);
    public static final ConfigKey<Duration> COOL_OFF =
            ConfigKey.of("passiveCheck.coolOff", "duration", "10s", ConfigValues::duration);
    public static final List<ConfigKey<?>> KEYS = List.of(FAILURES, COOL_OFF);

    public static final PassiveCheck DISABLED = new PassiveCheck(0, COOL_OFF.defaultValue());

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
