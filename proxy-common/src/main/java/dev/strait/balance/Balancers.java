package dev.strait.balance;

import static java.util.Objects.requireNonNull;

import dev.strait.config.BalanceAlgorithm;

/** Makes the {@link LoadBalancer} a route's {@code balance} setting names. */
public final class Balancers {
    private Balancers() {}

    /** A new balancer with its own state, for one route. */
    public static LoadBalancer create(BalanceAlgorithm algorithm) {
        return switch (requireNonNull(algorithm, "algorithm")) {
            case ROUND_ROBIN -> new RoundRobinBalancer();
            case LEAST_CONNECTIONS -> new LeastConnectionsBalancer();
            case RANDOM -> new RandomBalancer();
            case SOURCE_HASH -> new SourceHashBalancer();
        };
    }
}
