package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigKey;
import dev.strait.config.DnsConfig;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the YAML config file into a {@link ProxyConfig}, expanding {@code ${VAR}} references from the environment.
 *
 * <p>Every key is checked: an unknown key, a wrong type or a bad value is a {@link ConfigException} that names the
 * full key path ({@code routes[0].timeouts.connect}) and the value. The allowed keys and their defaults are the
 * {@link ConfigKey}s the records declare. The file is read by {@link ConfigFile} and parsed by {@link YamlTree}, each
 * within its limits.
 */
public final class ConfigLoader {
    private static final Set<String> TOP_FIELDS = ConfigKey.fieldsUnder("", ProxyConfig.KEYS);
    private static final Set<String> ADMIN_FIELDS = ConfigKey.fieldsUnder("admin", ProxyConfig.KEYS);
    /** Top-level keys that start with this are skipped: a place for YAML anchors, as in Docker Compose. */
    static final String EXTENSION_PREFIX = "x-";

    private static final Set<String> CAPTURE_FIELDS = ConfigKey.fieldsUnder("capture", ProxyConfig.KEYS);
    private static final Set<String> DNS_FIELDS = ConfigKey.fieldsUnder("dns", ProxyConfig.KEYS);

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
        root = withoutExtensions(root);
        YamlValues.requireObject("(top level)", root, TOP_FIELDS, "");
        JsonNode admin = YamlValues.block(root, "admin", "admin", ADMIN_FIELDS);
        JsonNode accessLog = YamlValues.block(root, "accessLog", "accessLog", RouteParser.ACCESS_LOG_FIELDS);
        routeParser.accessLog("accessLog", accessLog); // its errors name the top-level key, not a route's
        return new ProxyConfig(
                values.value(root, "", ProxyConfig.TRANSPORT),
                values.value(root, "", ProxyConfig.SPLICE),
                values.value(root, "", ProxyConfig.WORKERS),
                values.value(root, "", ProxyConfig.BACKLOG),
                values.value(root, "", ProxyConfig.SHUTDOWN_TIMEOUT),
                values.optional(admin, "admin", ProxyConfig.ADMIN_LISTEN),
                dns(YamlValues.block(root, "dns", "dns", DNS_FIELDS)),
                values.value(root, "", ProxyConfig.MAX_CONNECTIONS),
                routes(
                        root.get(ProxyConfig.ROUTES.field()),
                        RouteDefaults.read(root.get(ProxyConfig.DEFAULTS.field())),
                        accessLog),
                values.optional(admin, "admin", ProxyConfig.ADMIN_TOKEN).flatMap(token -> token),
                captureDirectory(YamlValues.block(root, "capture", "capture", CAPTURE_FIELDS)));
    }

    /** Capture files are written at run time: a directory that cannot take them is a config error now. */
    private Optional<Path> captureDirectory(JsonNode capture) {
        Optional<Path> directory = values.optional(capture, "capture", ProxyConfig.CAPTURE_DIRECTORY);
        directory.ifPresent(d -> {
            if (!Files.isDirectory(d) || !Files.isWritable(d)) {
                throw ConfigException.badValue(
                        ProxyConfig.CAPTURE_DIRECTORY.name(), d, "not a directory this process can write to");
            }
        });
        return directory;
    }

    /** The top level without its {@code x-} keys, which hold anchors for the rest of the file and are not read. */
    private static JsonNode withoutExtensions(JsonNode root) {
        if (!(root instanceof ObjectNode top)) {
            return root;
        }
        ObjectNode copy = top.deepCopy();
        List<String> names = new ArrayList<>();
        copy.fieldNames().forEachRemaining(names::add);
        names.stream().filter(name -> name.startsWith(EXTENSION_PREFIX)).forEach(copy::remove);
        return copy;
    }

    /** The route with the top-level {@code accessLog} block under its own, key by key (the route's keys win). */
    private static JsonNode withAccessLog(JsonNode route, JsonNode accessLog) {
        if (accessLog == null || !(route instanceof ObjectNode own)) {
            return route;
        }
        ObjectNode merged = ((ObjectNode) accessLog).deepCopy();
        if (own.get("accessLog") instanceof ObjectNode ownBlock) {
            merged.setAll(ownBlock);
        } else if (own.has("accessLog")) {
            return route; // not a mapping: the route parser says so, naming the route's key
        }
        ObjectNode copy = own.deepCopy();
        copy.set("accessLog", merged);
        return copy;
    }

    private DnsConfig dns(JsonNode node) {
        List<HostAndPort> servers = new ArrayList<>();
        JsonNode serversNode = node == null ? null : node.get(DnsConfig.SERVERS.field());
        if (serversNode != null) {
            if (!serversNode.isArray()) {
                throw new ConfigException(DnsConfig.SERVERS.name(), "expected a list of host:port");
            }
            for (int i = 0; i < serversNode.size(); i++) {
                String key = DnsConfig.SERVERS.name() + "[" + i + "]";
                servers.add(HostAndPort.parse(key, values.scalar(key, serversNode.get(i)))
                        .requireRealPort(key));
            }
        }
        return new DnsConfig(values.value(node, "dns", DnsConfig.REFRESH), servers);
    }

    /** The routes, each parsed on its own; checks across routes are {@link ProxyConfig}'s. */
    private List<Route> routes(JsonNode routesNode, RouteDefaults defaults, JsonNode accessLog) {
        if (routesNode == null || !routesNode.isArray() || routesNode.isEmpty()) {
            throw new ConfigException(ProxyConfig.ROUTES.name(), "a list of at least one route is required");
        }
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < routesNode.size(); i++) {
            String prefix = "routes[" + i + "]";
            try {
                routes.add(routeParser.route(prefix, withAccessLog(defaults.under(routesNode.get(i)), accessLog)));
            } catch (ConfigException e) {
                throw e.key().startsWith(prefix) ? e : e.under(prefix);
            }
        }
        return routes;
    }
}
