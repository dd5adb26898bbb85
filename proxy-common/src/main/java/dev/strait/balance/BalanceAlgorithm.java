package dev.strait.balance;

import dev.strait.config.ConfigException;

/**
 * The {@code balance} setting of a route: which {@link LoadBalancer} picks its backends.
 *
 * <p>Each route gets its own balancer from {@link #newBalancer()}, so no state is shared between routes.
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

    /** A new balancer with its own state, for one route. */
    public LoadBalancer newBalancer() {
        return switch (this) {
            case ROUND_ROBIN -> new RoundRobinBalancer();
            case LEAST_CONNECTIONS -> new LeastConnectionsBalancer();
            case RANDOM -> new RandomBalancer();
            case SOURCE_HASH -> new SourceHashBalancer();
        };
    }
}
