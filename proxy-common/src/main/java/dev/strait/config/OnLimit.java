package dev.strait.config;

import java.util.Locale;

/**
 * What a route does with new clients beyond its connection or rate limit: {@link #REFUSE} closes them at once (as
 * Envoy does); {@link #QUEUE} stops accepting, so they wait in the kernel's listen backlog until a slot frees (as
 * HAProxy does).
 */
public enum OnLimit {
    REFUSE,
    QUEUE;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static OnLimit parse(String key, String text) {
        for (OnLimit value : values()) {
            if (value.configName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return value;
            }
        }
        throw ConfigException.badValue(key, text, "expected refuse or queue");
    }
}
