package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Route;
import io.netty.bootstrap.Bootstrap;

/**
 * What a route's connections share: the route's config, its backends, the backend bootstrap template (cloned onto
 * each client's event loop) and its counters.
 */
public record RouteRuntime(Route route, BackendPool backends, Bootstrap backendBootstrap, RouteMetrics metrics) {
    public RouteRuntime {
        requireNonNull(route, "route");
        requireNonNull(backends, "backends");
        requireNonNull(backendBootstrap, "backendBootstrap");
        requireNonNull(metrics, "metrics");
    }

    public String name() {
        return route.name();
    }
}
