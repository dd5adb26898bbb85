package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.LoadBalancer;
import dev.strait.config.Route;
import dev.strait.server.accesslog.AccessLogger;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.capture.Captures;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.server.tls.ServerTls;
import io.netty.bootstrap.Bootstrap;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a route's new connections use: its config, its live backends and balancer, the backend bootstrap template
 * (cloned onto each client's event loop), its admission gate, its counters, the clients waiting for a slot or a
 * backend, the pre-relay stages it turns on (in order; none on a plain route), the read size that switches a
 * direction to splice(2) (0: never), the named targets a stage may send a client to instead ({@code sni} entries;
 * none on a plain route), its access log (null when off: nothing per connection then), and the server's captures
 * (consulted when a relay starts). A reload swaps in a new one; live connections keep the one they started with.
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
        List<RouteTarget> targets,
        AccessLogger accessLog,
        Captures captures,
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
        targets = List.copyOf(targets);
        requireNonNull(captures, "captures");
        if (spliceAfter < 0) {
            throw new IllegalArgumentException("spliceAfter must not be negative: " + spliceAfter);
        }
        requireNonNull(serverTls, "serverTls");
        requireNonNull(backendTls, "backendTls");
    }

    /**
     * Stops what runs in the background for this runtime alone: the certificate watch of a terminating route and the
     * file watch of its backends' TLS.
     */
    public void stopWatching() {
        serverTls.ifPresent(ServerTls::stop);
        backendTls.stop();
    }

    public String name() {
        return route.name();
    }

    /** The named target {@code name} (an {@code sni} entry), or null if there is none by that name. */
    public RouteTarget target(String name) {
        for (int i = 0; i < targets.size(); i++) {
            if (targets.get(i).name().equals(name)) {
                return targets.get(i);
            }
        }
        return null;
    }

    /** Every backend pool of the route: the default one, then each target's. */
    public List<BackendPool> pools() {
        if (targets.isEmpty()) {
            return List.of(pool);
        }
        List<BackendPool> all = new ArrayList<>(targets.size() + 1);
        all.add(pool);
        targets.forEach(t -> all.add(t.pool()));
        return all;
    }
}
