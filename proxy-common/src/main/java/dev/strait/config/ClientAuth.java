package dev.strait.config;

import java.util.Locale;

/**
 * Whether a TLS-terminating route asks clients for a certificate: {@link #NONE} does not, {@link #OPTIONAL} asks and
 * verifies one if given, {@link #REQUIRE} refuses a client without one signed by {@code tls.clientCa}.
 */
public enum ClientAuth {
    NONE,
    OPTIONAL,
    REQUIRE;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ClientAuth parse(String key, String text) {
        for (ClientAuth value : values()) {
            if (value.configName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return value;
            }
        }
        throw ConfigException.badValue(key, text, "expected none, optional or require");
    }
}
