package dev.strait.config;

import java.util.Locale;

/**
 * Which TLS implementation a route uses: {@link #OPENSSL} is BoringSSL from netty-tcnative (less CPU per handshake and
 * per byte), {@link #JDK} the JDK's engine, and {@link #AUTO} OpenSSL where netty-tcnative loads, else the JDK's. Both
 * keep a TLS 1.3 half-close (a client's close_notify ends one direction only); the application resolves the choice.
 */
public enum TlsProvider {
    AUTO,
    OPENSSL,
    JDK;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TlsProvider parse(String key, String text) {
        for (TlsProvider value : values()) {
            if (value.configName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return value;
            }
        }
        throw ConfigException.badValue(key, text, "expected auto, openssl or jdk");
    }
}
