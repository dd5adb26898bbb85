package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

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
 * @param routes at least one route; names and listen addresses are unique (the top-level {@code accessLog} block,
 *     {@link AccessLog#KEYS}, is each route's default and lives in the routes)
 * @param adminToken the bearer token every admin {@code POST} needs; without one, every {@code POST} is refused
 * @param captureDirectory where traffic capture files go; empty: the system's temporary directory
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
        List<Route> routes,
        Optional<AdminToken> adminToken,
        Optional<Path> captureDirectory) {

    public static final ConfigKey<TransportKind> TRANSPORT =
            ConfigKey.of("transport", "auto | epoll | io_uring | nio", "auto", TransportKind::parse);
    public static final ConfigKey<SpliceMode> SPLICE =
            ConfigKey.of("splice", "auto | always | off", "auto", SpliceMode::parse);
    public static final ConfigKey<Integer> WORKERS = ConfigKey.of("workers", "integer", "0", ConfigValues::integer);
    public static final ConfigKey<Integer> BACKLOG = ConfigKey.of("backlog", "integer", "1024", ConfigValues::integer);
    public static final ConfigKey<Duration> SHUTDOWN_TIMEOUT =
            ConfigKey.of("shutdownTimeout", "duration", "30s", ConfigValues::duration);
    public static final ConfigKey<Integer> MAX_CONNECTIONS =
            ConfigKey.of("maxConnections", "integer", "0", ConfigValues::integer);
    public static final ConfigKey<HostAndPort> ADMIN_LISTEN =
            ConfigKey.optional("admin.listen", "host:port", HostAndPort::parse);
    public static final ConfigKey<Optional<AdminToken>> ADMIN_TOKEN =
            ConfigKey.optional("admin.token", "string", AdminToken::parseOptional);
    public static final ConfigKey<Path> CAPTURE_DIRECTORY =
            ConfigKey.optional("capture.directory", "directory path; writable", ProxyConfig::directory);
    public static final ConfigKey<Void> DEFAULTS =
            ConfigKey.readByLoader("defaults", "mapping of route keys", ConfigKey.NONE);
    public static final ConfigKey<Void> ROUTES = ConfigKey.readByLoader("routes", "list of routes", ConfigKey.REQUIRED);

    /** Every key of the top level, {@code dns} included; each route's keys are {@link Route#KEYS}. */
    public static final List<ConfigKey<?>> KEYS = Stream.of(
                    List.<ConfigKey<?>>of(
                            TRANSPORT,
                            SPLICE,
                            WORKERS,
                            BACKLOG,
                            SHUTDOWN_TIMEOUT,
                            MAX_CONNECTIONS,
                            ADMIN_LISTEN,
                            ADMIN_TOKEN,
                            CAPTURE_DIRECTORY,
                            DEFAULTS,
                            ROUTES),
                    DnsConfig.KEYS,
                    AccessLog.KEYS)
            .flatMap(List::stream)
            .toList();

    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = SHUTDOWN_TIMEOUT.defaultValue();
    public static final int DEFAULT_BACKLOG = BACKLOG.defaultValue();

    /** A config without an admin token (every admin {@code POST} is refused) and with capture files in the temp dir. */
    public ProxyConfig(
            TransportKind transport,
            SpliceMode splice,
            int workers,
            int backlog,
            Duration shutdownTimeout,
            Optional<HostAndPort> admin,
            DnsConfig dns,
            int maxConnections,
            List<Route> routes) {
        this(
                transport,
                splice,
                workers,
                backlog,
                shutdownTimeout,
                admin,
                dns,
                maxConnections,
                routes,
                Optional.empty(),
                Optional.empty());
    }

    private static Path directory(String key, String text) {
        if (text.isBlank() || text.indexOf('\0') >= 0) {
            throw ConfigException.badValue(key, text, "a directory path");
        }
        return Path.of(text);
    }

    public ProxyConfig {
        requireNonNull(transport, "transport");
        requireNonNull(captureDirectory, "captureDirectory");
        requireNonNull(splice, "splice");
        requireNonNull(shutdownTimeout, "shutdownTimeout");
        requireNonNull(admin, "admin");
        requireNonNull(adminToken, "adminToken");
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
        // The one place for checks across routes; the keys name the later route of a clashing pair.
        Set<String> names = new HashSet<>();
        for (int i = 0; i < routes.size(); i++) {
            Route route = routes.get(i);
            if (!names.add(route.name())) {
                throw ConfigException.badValue("routes[" + i + "].name", route.name(), "another route has this name");
            }
            for (int j = 0; j < i; j++) {
                requireNoClash("routes[" + i + "].listen", route.listen(), "routes[" + j + "]", routes.get(j));
            }
        }
        if (admin.isPresent()) {
            for (int i = 0; i < routes.size(); i++) {
                requireNoClash("admin.listen", admin.get(), "routes[" + i + "]", routes.get(i));
            }
        }
    }

    /** This config with {@code token} as its admin token. */
    public ProxyConfig withAdminToken(Optional<AdminToken> token) {
        return new ProxyConfig(
                transport,
                splice,
                workers,
                backlog,
                shutdownTimeout,
                admin,
                dns,
                maxConnections,
                routes,
                token,
                captureDirectory);
    }

    /** Fails when {@code listen} would take the same port as {@code other}'s listener, which a bind would reject. */
    private static void requireNoClash(String key, HostAndPort listen, String otherKey, Route other) {
        if (listen.equals(other.listen()) && listen.port() != 0) {
            throw ConfigException.badValue(key, listen, otherKey + ".listen is the same address");
        }
        if (listen.overlaps(other.listen())) {
            throw ConfigException.badValue(
                    key,
                    listen,
                    "same port as " + otherKey + ".listen " + other.listen() + " on an overlapping address");
        }
    }

    /** A config with defaults for everything but the routes. */
    public static ProxyConfig of(List<Route> routes) {
        return new ProxyConfig(
                TRANSPORT.defaultValue(),
                SPLICE.defaultValue(),
                WORKERS.defaultValue(),
                DEFAULT_BACKLOG,
                DEFAULT_SHUTDOWN_TIMEOUT,
                Optional.empty(),
                DnsConfig.DEFAULTS,
                MAX_CONNECTIONS.defaultValue(),
                routes);
    }

    /**
     * This config with the settings only a restart can change (transport, workers, backlog, admin) taken from the
     * running one: what a reload actually runs.
     */
    public ProxyConfig withRestartOnlyOf(ProxyConfig running) {
        return new ProxyConfig(
                running.transport,
                splice,
                running.workers,
                running.backlog,
                shutdownTimeout,
                running.admin,
                dns,
                maxConnections,
                routes,
                adminToken,
                running.captureDirectory);
    }

    /** This config with another admin address, transport override applied by the caller. */
    public ProxyConfig with(TransportKind newTransport, Optional<HostAndPort> newAdmin) {
        return new ProxyConfig(
                newTransport,
                splice,
                workers,
                backlog,
                shutdownTimeout,
                newAdmin,
                dns,
                maxConnections,
                routes,
                adminToken,
                captureDirectory);
    }
}
