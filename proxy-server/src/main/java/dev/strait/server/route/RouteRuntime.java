package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.LoadBalancer;
import dev.strait.config.Route;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.server.tls.ServerTls;
import io.netty.bootstrap.Bootstrap;
import java.util.List;
import java.util.Optional;

/**
 * What a route's new connections use: its config, its live backends and balancer, the backend bootstrap template
 * (cloned onto each client's event loop), its admission gate, its counters, the clients waiting for a slot or a
 * backend, the pre-relay stages it turns on (in order; none on a plain route), and the read size that switches a
 * direction to splice(2) (0: never). A reload swaps in a new one; live connections keep the one they started with.
 */
public record RouteRuntime(
        Route route,
        BackendPool pool,
        LoadBalancer balancer,
        Bootstrap backendBootstrap,
        AdmissionGate gate,
        RouteMetrics metrics,
        WaitList waiters,
        List<PreRelayStage.Factory> stages,
        int spliceAfter,
        Optional<ServerTls> serverTls,
        BackendTlsContexts backendTls) {
    public RouteRuntime {
        requireNonNull(route, "route");
        requireNonNull(pool, "pool");
        requireNonNull(balancer, "balancer");
        requireNonNull(backendBootstrap, "backendBootstrap");
        requireNonNull(gate, "gate");
        requireNonNull(metrics, "metrics");
        requireNonNull(waiters, "waiters");
        stages = List.copyOf(stages);
        if (spliceAfter < 0) {
            throw new IllegalArgumentException("spliceAfter must not be negative: " + spliceAfter);
        }
        requireNonNull(serverTls, "serverTls");
        requireNonNull(backendTls, "backendTls");
    }

    /** A runtime whose route speaks plain TCP on both sides. */
    public RouteRuntime(
            Route route,
            BackendPool pool,
            LoadBalancer balancer,
            Bootstrap backendBootstrap,
            AdmissionGate gate,
            RouteMetrics metrics,
            WaitList waiters,
            List<PreRelayStage.Factory> stages,
            int spliceAfter) {
        this(
                route,
                pool,
                balancer,
                backendBootstrap,
                gate,
                metrics,
                waiters,
                stages,
                spliceAfter,
                Optional.empty(),
                BackendTlsContexts.NONE);
    }

    /** Stops what runs in the background for this runtime alone: the certificate watch of a terminating route. */
    public void stopWatching() {
        serverTls.ifPresent(ServerTls::stop);
    }

    public String name() {
        return route.name();
    }
}
