package dev.strait.config;

import java.util.Locale;

/**
 * What a route's clients speak first, for the stages that read it: {@code tcp} (anything; with {@code sni}, a TLS
 * ClientHello is looked for) or {@code postgres} (PostgreSQL's startup preamble: an {@code SSLRequest} is answered by
 * Strait, so that {@code sslmode=require} clients can be routed by SNI).
 */
public enum RouteProtocol {
    TCP,
    POSTGRES;

    public static RouteProtocol parse(String key, String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "tcp" -> TCP;
            case "postgres", "postgresql" -> POSTGRES;
            default -> throw ConfigException.badValue(key, text, "tcp | postgres");
        };
    }

    /** The name the config file uses. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return configName();
    }
}
