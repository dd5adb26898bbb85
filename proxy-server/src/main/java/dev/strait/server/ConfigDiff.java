package dev.strait.server;

import dev.strait.config.BackendSpec;
import dev.strait.config.ConfigValues;
import dev.strait.config.SniTarget;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What differs between two config records, as the log says it: one {@code key was -> now} per changed value, keys as
 * the config file writes them ({@code timeouts.idle}), values as a user writes them ({@code 5s}, {@code none},
 * {@code 10.0.0.1:5432,10.0.0.2:5432}). Pure.
 */
final class ConfigDiff {
    private ConfigDiff() {}

    /** Adds to {@code out} the changes from {@code was} to {@code now} under {@code key} ({@code ""} at the top). */
    static void diff(String key, Object was, Object now, List<String> out) {
        if (was.equals(now)) {
            return;
        }
        if (was instanceof Record && was.getClass() == now.getClass() && !(was instanceof BackendSpec)) {
            for (RecordComponent component : was.getClass().getRecordComponents()) {
                String name = key.isEmpty() ? component.getName() : key + "." + component.getName();
                diff(name, value(component, was), value(component, now), out);
            }
            return;
        }
        out.add(key + " " + plain(was) + " -> " + plain(now));
    }

    /** A value as the config writes it: no {@code Optional[...]}, durations as {@code 5s}, lists joined by commas. */
    static String plain(Object value) {
        if (value instanceof Optional<?> optional) {
            return optional.map(ConfigDiff::plain).orElse("none");
        }
        if (value instanceof Duration duration) {
            return ConfigValues.format(duration);
        }
        if (value instanceof Collection<?> items) {
            return items.isEmpty()
                    ? "none"
                    : items.stream().map(ConfigDiff::plain).collect(Collectors.joining(","));
        }
        if (value instanceof BackendSpec spec) {
            return spec.equals(BackendSpec.of(spec.address()))
                    ? spec.address().toString()
                    : spec.address() + " (weight " + spec.weight() + ", maxConnections " + spec.maxConnections()
                            + (spec.backup() ? ", backup" : "")
                            + spec.sendProxyProtocol()
                                    .map(v -> ", sendProxyProtocol " + v.configName())
                                    .orElse("")
                            + ")";
        }
        if (value instanceof SniTarget target) {
            return String.join("|", target.serverNames()) + ": " + plain(target.backends());
        }
        if (value instanceof Enum<?> e) {
            return configName(e);
        }
        return String.valueOf(value);
    }

    /** The enum's {@code configName()}, which every config enum has; its lower-case name otherwise. */
    private static String configName(Enum<?> e) {
        try {
            return String.valueOf(e.getClass().getMethod("configName").invoke(e));
        } catch (ReflectiveOperationException notAConfigEnum) {
            return e.name().toLowerCase(Locale.ROOT);
        }
    }

    private static Object value(RecordComponent component, Object record) {
        try {
            return component.getAccessor().invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + component.getName(), e);
        }
    }
}
