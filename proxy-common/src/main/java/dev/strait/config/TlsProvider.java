package dev.strait.config;

import java.util.Locale;

/**
 * Which TLS implementation a route uses: {@link #AUTO} picks OpenSSL (BoringSSL from netty-tcnative) when its native
 * library loads on this machine, else the JDK's; {@link #OPENSSL} and {@link #JDK} force one.
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
