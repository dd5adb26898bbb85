package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import dev.strait.config.DnsConfig;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.SpliceMode;
import dev.strait.config.TransportKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the YAML config file into a {@link ProxyConfig}, expanding {@code ${VAR}} references from the environment.
 *
 * <p>Every key is checked: an unknown key, a wrong type or a bad value is a {@link ConfigException} that names the
 * full key path ({@code routes[0].timeouts.connect}) and the value. The file is read by {@link ConfigFile} and parsed
 * by {@link YamlTree}, each within its limits.
 */
public final class ConfigLoader {
    private static final Set<String> TOP_KEYS = Set.of(
            "transport", "splice", "workers", "backlog", "shutdownTimeout", "admin", "dns", "maxConnections", "routes");
    private static final Set<String> DNS_KEYS = Set.of("refresh", "servers");
    private static final Set<String> ADMIN_KEYS = Set.of("listen");

    private final YamlValues values;
    private final RouteParser routeParser;

    public ConfigLoader(Map<String, String> env) {
        this.values = new YamlValues(new EnvExpander(env));
        this.routeParser = new RouteParser(values);
    }

    /** Reads and validates a config file. */
    public ProxyConfig load(Path file) {
        requireNonNull(file, "file");
        return parse(ConfigFile.read(file), file.toString());
    }

    /** Parses and validates config text; {@code source} names it in errors. */
    public ProxyConfig parse(String text, String source) {
        JsonNode root = YamlTree.read(text, source);
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException("routes", "\"" + source + "\" is empty; at least one route is required");
        }
        YamlValues.requireObject("(top level)", root, TOP_KEYS, "");
        TransportKind transport = root.has("transport")
                ? TransportKind.parse("transport", values.scalar("transport", root.get("transport")))
                : TransportKind.AUTO;
        SpliceMode splice = root.has("splice")
                ? SpliceMode.parse("splice", values.scalar("splice", root.get("splice")))
                : SpliceMode.AUTO;
        int workers = root.has("workers") ? values.integer("workers", root.get("workers")) : 0;
        int backlog =
                root.has("backlog") ? values.integer("backlog", root.get("backlog")) : ProxyConfig.DEFAULT_BACKLOG;
        Duration shutdown = root.has("shutdownTimeout")
                ? ConfigValues.duration(
                        "shutdownTimeout", values.scalar("shutdownTimeout", root.get("shutdownTimeout")))
                : ProxyConfig.DEFAULT_SHUTDOWN_TIMEOUT;
        Optional<HostAndPort> admin = Optional.empty();
        if (root.has("admin")) {
            JsonNode adminNode = root.get("admin");
            YamlValues.requireObject("admin", adminNode, ADMIN_KEYS, "admin.");
            if (adminNode.has("listen")) {
                admin = Optional.of(
                        HostAndPort.parse("admin.listen", values.scalar("admin.listen", adminNode.get("listen"))));
            }
        }
        DnsConfig dns = DnsConfig.DEFAULTS;
        if (root.has("dns")) {
            JsonNode node = root.get("dns");
            YamlValues.requireObject("dns", node, DNS_KEYS, "dns.");
            List<HostAndPort> servers = new ArrayList<>();
            JsonNode serversNode = node.get("servers");
            if (serversNode != null) {
                if (!serversNode.isArray()) {
                    throw new ConfigException("dns.servers", "expected a list of host:port");
                }
                for (int i = 0; i < serversNode.size(); i++) {
                    String key = "dns.servers[" + i + "]";
                    servers.add(HostAndPort.parse(key, values.scalar(key, serversNode.get(i)))
                            .requireRealPort(key));
                }
            }
            dns = new DnsConfig(
                    values.duration("dns.refresh", node.get("refresh"), DnsConfig.DEFAULTS.refresh()), servers);
        }
        int maxConnections =
                root.has("maxConnections") ? values.integer("maxConnections", root.get("maxConnections")) : 0;
        JsonNode routesNode = root.get("routes");
        if (routesNode == null || !routesNode.isArray() || routesNode.isEmpty()) {
            throw new ConfigException("routes", "a list of at least one route is required");
        }
        List<Route> routes = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<HostAndPort> listens = new HashSet<>();
        for (int i = 0; i < routesNode.size(); i++) {
            String prefix = "routes[" + i + "]";
            Route route;
            try {
                route = routeParser.route(prefix, routesNode.get(i));
            } catch (ConfigException e) {
                throw e.key().startsWith(prefix) ? e : e.under(prefix);
            }
            if (!names.add(route.name())) {
                throw ConfigException.badValue(prefix + ".name", route.name(), "another route has this name");
            }
            if (route.listen().port() != 0 && !listens.add(route.listen())) {
                throw ConfigException.badValue(prefix + ".listen", route.listen(), "another route listens on it");
            }
            routes.add(route);
        }
        return new ProxyConfig(transport, splice, workers, backlog, shutdown, admin, dns, maxConnections, routes);
    }
}
