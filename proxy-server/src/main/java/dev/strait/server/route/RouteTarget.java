package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.LoadBalancer;
import dev.strait.config.HealthCheck;
import dev.strait.server.backend.BackendPool;
import java.util.Optional;

/**
 * One named set of backends of a route that a pre-relay stage may send a client to: an {@code sni} entry, with its own
 * pool, balancer, retries and health check. The route's own backends are its default target, kept in
 * {@link RouteRuntime#pool()} and {@link RouteRuntime#balancer()} so that a plain route has no target to look up.
 *
 * @param name the name a stage routes to and metrics show (the entry's first server name)
 */
public record RouteTarget(
        String name, BackendPool pool, LoadBalancer balancer, int retries, Optional<HealthCheck> healthCheck) {
    public RouteTarget {
        requireNonNull(name, "name");
        requireNonNull(pool, "pool");
        requireNonNull(balancer, "balancer");
        requireNonNull(healthCheck, "healthCheck");
    }
}
