package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.LoadBalancer;
import dev.strait.config.Route;
import dev.strait.server.backend.BackendPool;
import io.netty.bootstrap.Bootstrap;

/**
 * What a route's new connections use: its config, its live backends and balancer, the backend bootstrap template
 * (cloned onto each client's event loop), its admission gate, its counters, the clients waiting for a slot or a backend, and the read size that switches a
 * direction to splice(2) (0: never). A reload swaps in a new one; live
 * connections keep the one they started with.
 */
public record RouteRuntime(
        Route route,
        BackendPool pool,
        LoadBalancer balancer,
        Bootstrap backendBootstrap,
        AdmissionGate gate,
        RouteMetrics metrics,
        WaitList waiters,
        int spliceAfter) {
    public RouteRuntime {
        requireNonNull(route, "route");
        requireNonNull(pool, "pool");
        requireNonNull(balancer, "balancer");
        requireNonNull(backendBootstrap, "backendBootstrap");
        requireNonNull(gate, "gate");
        requireNonNull(metrics, "metrics");
        requireNonNull(waiters, "waiters");
        if (spliceAfter < 0) {
            throw new IllegalArgumentException("spliceAfter must not be negative: " + spliceAfter);
        }
    }

    public String name() {
        return route.name();
    }
}
