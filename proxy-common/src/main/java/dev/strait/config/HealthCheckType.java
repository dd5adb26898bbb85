package dev.strait.config;

/**
 * The {@code healthCheck.type} of a route: what a probe says after connecting.
 *
 * <p>{@link #TCP} is a connect plus the optional {@code send}, {@code expect}, {@code expectContains} or {@code http}
 * exchange; {@link #POSTGRES} is PostgreSQL's own startup handshake, as HAProxy's {@code option pgsql-check}.
 */
public enum HealthCheckType {
    /** A TCP connect, plus the configured request and reply if any. */
    TCP("tcp"),
    /** A PostgreSQL StartupMessage; any well-formed reply (an authentication request or an error) counts as up. */
    POSTGRES("postgres");

    private final String configName;

    HealthCheckType(String configName) {
        this.configName = configName;
    }

    /** How the configuration file spells it, e.g. {@code postgres}. */
    public String configName() {
        return configName;
    }

    /** Parses a configured name; the error names {@code key} and the bad text. */
    public static HealthCheckType parse(String key, String text) {
        for (HealthCheckType type : values()) {
            if (type.configName.equals(text.trim())) {
                return type;
            }
        }
        throw ConfigException.badValue(key, text, "expected tcp or postgres");
    }
}
