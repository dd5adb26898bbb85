package dev.strait.config;

/**
 * The {@code balance} setting of a route: which algorithm picks a backend for each new connection.
 *
 * <p>Only the name and its spelling in the config live here; {@code dev.strait.balance.Balancers} turns it into a
 * balancer, one per route, so no state is shared between routes.
 */
public enum BalanceAlgorithm {
    /** Smooth weighted round-robin (nginx's): shares exactly proportional to weight, interleaved. */
    ROUND_ROBIN("round-robin"),
    /** The backend with the fewest live connections per unit of weight; the right default for long sessions. */
    LEAST_CONNECTIONS("least-connections"),
    /** Power of two choices: of two weighted random backends, the less loaded one. */
    RANDOM("random"),
    /** Consistent hashing on the client IP: a client sticks to one backend while it is available. */
    SOURCE_HASH("source-hash");

    private final String configName;

    BalanceAlgorithm(String configName) {
        this.configName = configName;
    }

    /** How the configuration file spells it, e.g. {@code least-connections}. */
    public String configName() {
        return configName;
    }

    /** Parses a configured name; the error names {@code key} and the bad text. */
    public static BalanceAlgorithm parse(String key, String text) {
        for (BalanceAlgorithm algorithm : values()) {
            if (algorithm.configName.equals(text)) {
                return algorithm;
            }
        }
        throw ConfigException.badValue(key, text, "expected round-robin, least-connections, random or source-hash");
    }
}
