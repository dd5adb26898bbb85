package dev.strait.config;

import java.util.Locale;

/**
 * Which TLS implementation a route uses: {@link #AUTO} is the JDK's engine, which keeps a TLS 1.3 half-close (a
 * client's close_notify ends one direction only); {@link #OPENSSL} (BoringSSL from netty-tcnative) handshakes with less
 * CPU but ends both directions on a close_notify; {@link #JDK} names the JDK's engine explicitly.
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
