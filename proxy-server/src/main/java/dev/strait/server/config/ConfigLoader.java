package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the YAML config file into a {@link ProxyConfig}, expanding {@code ${VAR}} references from the environment.
 *
 * <p>Every key is checked: an unknown key, a wrong type or a bad value is a {@link ConfigException} that names the
 * full key path ({@code routes[0].timeouts.connect}) and the value.
 */
public final class ConfigLoader {
    private static final Set<String> TOP_KEYS =
            Set.of("transport", "workers", "backlog", "shutdownTimeout", "admin", "routes");
    private static final Set<String> ROUTE_KEYS =
            Set.of("name", "listen", "backends", "timeouts", "writeBufferWaterMark");
    private static final Set<String> TIMEOUT_KEYS = Set.of("connect", "idle");
    private static final Set<String> WATER_MARK_KEYS = Set.of("low", "high");
    private static final Set<String> ADMIN_KEYS = Set.of("listen");

    private final EnvExpander env;

    public ConfigLoader(Map<String, String> env) {
        this.env = new EnvExpander(env);
    }

    /** Reads and validates a config file. */
    public ProxyConfig load(Path file) {
        requireNonNull(file, "file");
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException("--config", "cannot read \"" + file + "\": " + describe(e));
        }
        return parse(text, file.toString());
    }

    /** Parses and validates config text; {@code source} names it in errors. */
    public ProxyConfig parse(String text, String source) {
        JsonNode root;
        try {
            YAMLMapper mapper = YAMLMapper.builder()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .build();
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(
                    "--config", "\"" + source + "\" is not valid YAML: " + e.getOriginalMessage() + location(e));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException("routes", "\"" + source + "\" is empty; at least one route is required");
        }
        requireObject("(top level)", root, TOP_KEYS, "");
        TransportKind transport = root.has("transport")
                ? TransportKind.parse("transport", scalar("transport", root.get("transport")))
                : TransportKind.AUTO;
        int workers = root.has("workers") ? integer("workers", root.get("workers")) : 0;
        int backlog = root.has("backlog") ? integer("backlog", root.get("backlog")) : ProxyConfig.DEFAULT_BACKLOG;
        Duration shutdown = root.has("shutdownTimeout")
                ? ConfigValues.duration("shutdownTimeout", scalar("shutdownTimeout", root.get("shutdownTimeout")))
                : ProxyConfig.DEFAULT_SHUTDOWN_TIMEOUT;
        Optional<HostAndPort> admin = Optional.empty();
        if (root.has("admin")) {
            JsonNode adminNode = root.get("admin");
            requireObject("admin", adminNode, ADMIN_KEYS, "admin.");
            if (adminNode.has("listen")) {
                admin = Optional.of(HostAndPort.parse("admin.listen", scalar("admin.listen", adminNode.get("listen"))));
            }
        }
        JsonNode routesNode = root.get("routes");
        if (routesNode == null || !routesNode.isArray() || routesNode.isEmpty()) {
            throw new ConfigException("routes", "a list of at least one route is required");
        }
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < routesNode.size(); i++) {
            String prefix = "routes[" + i + "]";
            try {
                routes.add(route(prefix, routesNode.get(i)));
            } catch (ConfigException e) {
                throw e.key().startsWith(prefix) ? e : e.under(prefix);
            }
        }
        return new ProxyConfig(transport, workers, backlog, shutdown, admin, routes);
    }

    private Route route(String prefix, JsonNode node) {
        requireObject(prefix, node, ROUTE_KEYS, prefix + ".");
        String name = node.has("name")
                ? scalar(prefix + ".name", node.get("name"))
                : "route" + prefix.substring(7, prefix.length() - 1);
        if (!node.has("listen")) {
            throw new ConfigException(prefix + ".listen", "is required");
        }
        HostAndPort listen = HostAndPort.parse(prefix + ".listen", scalar(prefix + ".listen", node.get("listen")));
        JsonNode backendsNode = node.get("backends");
        if (backendsNode == null || !backendsNode.isArray() || backendsNode.isEmpty()) {
            throw new ConfigException(prefix + ".backends", "a list of at least one host:port is required");
        }
        List<HostAndPort> backends = new ArrayList<>();
        for (int i = 0; i < backendsNode.size(); i++) {
            String key = prefix + ".backends[" + i + "]";
            backends.add(
                    HostAndPort.parse(key, scalar(key, backendsNode.get(i))).requireRealPort(key));
        }
        Timeouts timeouts = Timeouts.DEFAULTS;
        if (node.has("timeouts")) {
            String key = prefix + ".timeouts";
            JsonNode t = node.get("timeouts");
            requireObject(key, t, TIMEOUT_KEYS, key + ".");
            timeouts = new Timeouts(
                    t.has("connect")
                            ? ConfigValues.duration(key + ".connect", scalar(key + ".connect", t.get("connect")))
                            : Timeouts.DEFAULT_CONNECT,
                    t.has("idle")
                            ? ConfigValues.duration(key + ".idle", scalar(key + ".idle", t.get("idle")))
                            : Duration.ZERO);
        }
        WaterMark waterMark = WaterMark.DEFAULT;
        if (node.has("writeBufferWaterMark")) {
            String key = prefix + ".writeBufferWaterMark";
            JsonNode w = node.get("writeBufferWaterMark");
            requireObject(key, w, WATER_MARK_KEYS, key + ".");
            int high = w.has("high")
                    ? ConfigValues.size(key + ".high", scalar(key + ".high", w.get("high")))
                    : WaterMark.DEFAULT.high();
            int low = w.has("low")
                    ? ConfigValues.size(key + ".low", scalar(key + ".low", w.get("low")))
                    : Math.min(WaterMark.DEFAULT.low(), high);
            waterMark = new WaterMark(low, high);
        }
        return new Route(name, listen, backends, timeouts, waterMark);
    }

    private static void requireObject(String key, JsonNode node, Set<String> allowed, String childPrefix) {
        if (!node.isObject()) {
            throw new ConfigException(key, "expected a mapping of keys, found \"" + node + "\"");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new ConfigException(
                        childPrefix + name,
                        "unknown key (allowed: "
                                + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private String scalar(String key, JsonNode node) {
        if (node == null || !node.isValueNode() || node.isNull()) {
            throw new ConfigException(
                    key, "expected a single value, found " + (node == null ? "nothing" : "\"" + node + "\""));
        }
        return env.expand(key, node.asText());
    }

    private int integer(String key, JsonNode node) {
        String text = scalar(key, node);
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "expected a whole number");
        }
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }

    private static String describe(IOException e) {
        String type = e.getClass().getSimpleName();
        return switch (type) {
            case "NoSuchFileException" -> "no such file";
            case "AccessDeniedException" -> "permission denied";
            default -> e.getMessage() == null ? type : e.getMessage();
        };
    }
}
