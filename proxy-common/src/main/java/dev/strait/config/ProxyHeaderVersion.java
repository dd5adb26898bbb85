package dev.strait.config;

/**
 * The {@code sendProxyProtocol} setting of a route or a backend: whether Strait writes a PROXY protocol header as the
 * first bytes on the backend connection, and which version. Off by default: PostgreSQL, Redis and OpenSSH cannot
 * read one.
 */
public enum ProxyHeaderVersion {
    /** No header. */
    OFF("off"),
    /** The human-readable v1 header ({@code PROXY TCP4 ...\r\n}). */
    V1("v1"),
    /** The binary v2 header. */
    V2("v2");

    private final String configName;

    ProxyHeaderVersion(String configName) {
        this.configName = configName;
    }

    /** How the configuration file spells it. */
    public String configName() {
        return configName;
    }

    /** Parses a configured name; the error names {@code key} and the bad text. */
    public static ProxyHeaderVersion parse(String key, String text) {
        for (ProxyHeaderVersion v : values()) {
            if (v.configName.equals(text)) {
                return v;
            }
        }
        throw ConfigException.badValue(key, text, "off, v1 or v2");
    }
}
