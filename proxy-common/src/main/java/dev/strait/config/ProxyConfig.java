package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The whole proxy: transport, threads, drain deadline, admin endpoint and routes.
 *
 * @param transport the Netty transport
 * @param splice when relayed directions switch to splice(2) (epoll only)
 * @param workers worker event loop threads; 0 means one per core
 * @param backlog the listen backlog (SO_BACKLOG) of every listener
 * @param shutdownTimeout how long SIGTERM waits for live connections to finish before closing them
 * @param admin where the HTTP admin endpoint listens, if anywhere
 * @param dns how backend host names are resolved and how often they are re-resolved
 * @param maxConnections live connections across all routes; 0 means no limit; each route's {@code onLimit} applies
 * @param routes at least one route; names and listen addresses are unique
 */
public record ProxyConfig(
        TransportKind transport,
        SpliceMode splice,
        int workers,
        int backlog,
        Duration shutdownTimeout,
        Optional<HostAndPort> admin,
        DnsConfig dns,
        int maxConnections,
        List<Route> routes) {

    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_BACKLOG = 1024;

    public ProxyConfig {
        requireNonNull(transport, "transport");
        requireNonNull(splice, "splice");
        requireNonNull(shutdownTimeout, "shutdownTimeout");
        requireNonNull(admin, "admin");
        if (workers < 0 || workers > 1024) {
            throw ConfigException.badValue("workers", workers, "0 (one per core) to 1024");
        }
        if (backlog < 1 || backlog > 65535) {
            throw ConfigException.badValue("backlog", backlog, "1 to 65535");
        }
        if (shutdownTimeout.isNegative()) {
            throw ConfigException.badValue("shutdownTimeout", shutdownTimeout, "must not be negative");
        }
        requireNonNull(dns, "dns");
        if (maxConnections < 0) {
            throw ConfigException.badValue("maxConnections", maxConnections, "0 (no limit) or more");
        }
        routes = List.copyOf(requireNonNull(routes, "routes"));
        if (routes.isEmpty()) {
            throw new ConfigException("routes", "at least one route is required");
        }
        Set<String> names = new HashSet<>();
        Set<HostAndPort> listens = new HashSet<>();
        for (Route route : routes) {
            if (!names.add(route.name())) {
                throw ConfigException.badValue("routes.name", route.name(), "duplicate route name");
            }
            if (route.listen().port() != 0 && !listens.add(route.listen())) {
                throw ConfigException.badValue("routes.listen", route.listen(), "two routes listen on it");
            }
        }
    }

    /** A config with defaults for everything but the routes. */
    public static ProxyConfig of(List<Route> routes) {
        return new ProxyConfig(
                TransportKind.AUTO,
                SpliceMode.AUTO,
                0,
                DEFAULT_BACKLOG,
                DEFAULT_SHUTDOWN_TIMEOUT,
                Optional.empty(),
                DnsConfig.DEFAULTS,
                0,
                routes);
    }

    /** This config with another admin address, transport override applied by the caller. */
    public ProxyConfig with(TransportKind newTransport, Optional<HostAndPort> newAdmin) {
        return new ProxyConfig(
                newTransport, splice, workers, backlog, shutdownTimeout, newAdmin, dns, maxConnections, routes);
    }
}
