package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strait.balance.BalanceAlgorithm;
import dev.strait.config.AccessList;
import dev.strait.config.BackendSpec;
import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import dev.strait.config.DnsConfig;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.PassiveCheck;
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
import java.util.HashSet;
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
            Set.of("transport", "workers", "backlog", "shutdownTimeout", "admin", "dns", "maxConnections", "routes");
    private static final Set<String> ROUTE_KEYS = Set.of(
            "name",
            "listen",
            "backends",
            "balance",
            "healthCheck",
            "passiveCheck",
            "retries",
            "timeouts",
            "writeBufferWaterMark",
            "maxConnections",
            "onLimit",
            "perSourceMaxConnections",
            "acceptRate",
            "allow",
            "deny");
    private static final Set<String> BACKEND_KEYS = Set.of("address", "weight", "maxConnections", "backup");
    private static final Set<String> HEALTH_KEYS =
            Set.of("interval", "timeout", "rise", "fall", "send", "expect", "closeOnDown");
    private static final Set<String> PASSIVE_KEYS = Set.of("failures", "coolOff");
    private static final Set<String> DNS_KEYS = Set.of("refresh", "servers");
    private static final Set<String> TIMEOUT_KEYS =
            Set.of("connect", "idle", "clientFin", "serverFin", "queue", "maxLifetime");
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
                    "--config",
                    "\"" + source + "\" is not valid YAML: " + oneLine(e.getOriginalMessage()) + location(e));
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
        DnsConfig dns = DnsConfig.DEFAULTS;
        if (root.has("dns")) {
            JsonNode node = root.get("dns");
            requireObject("dns", node, DNS_KEYS, "dns.");
            List<HostAndPort> servers = new ArrayList<>();
            JsonNode serversNode = node.get("servers");
            if (serversNode != null) {
                if (!serversNode.isArray()) {
                    throw new ConfigException("dns.servers", "expected a list of host:port");
                }
                for (int i = 0; i < serversNode.size(); i++) {
                    String key = "dns.servers[" + i + "]";
                    servers.add(HostAndPort.parse(key, scalar(key, serversNode.get(i)))
                            .requireRealPort(key));
                }
            }
            dns = new DnsConfig(duration("dns.refresh", node.get("refresh"), DnsConfig.DEFAULTS.refresh()), servers);
        }
        int maxConnections = root.has("maxConnections") ? integer("maxConnections", root.get("maxConnections")) : 0;
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
                route = route(prefix, routesNode.get(i));
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
        return new ProxyConfig(transport, workers, backlog, shutdown, admin, dns, maxConnections, routes);
    }

    private Route route(String prefix, JsonNode node) {
        requireObject(prefix, node, ROUTE_KEYS, prefix + ".");
        String name = node.has("name")
                ? scalar(prefix + ".name", node.get("name"))
                : "route-" + prefix.substring(7, prefix.length() - 1);
        if (!node.has("listen")) {
            throw new ConfigException(prefix + ".listen", "is required");
        }
        HostAndPort listen = HostAndPort.parse(prefix + ".listen", scalar(prefix + ".listen", node.get("listen")));
        JsonNode backendsNode = node.get("backends");
        if (backendsNode == null || !backendsNode.isArray() || backendsNode.isEmpty()) {
            throw new ConfigException(prefix + ".backends", "a list of at least one host:port is required");
        }
        List<BackendSpec> backends = new ArrayList<>();
        for (int i = 0; i < backendsNode.size(); i++) {
            backends.add(backend(prefix + ".backends[" + i + "]", backendsNode.get(i)));
        }
        BalanceAlgorithm balance = node.has("balance")
                ? BalanceAlgorithm.parse(prefix + ".balance", scalar(prefix + ".balance", node.get("balance")))
                : BalanceAlgorithm.LEAST_CONNECTIONS;
        Optional<HealthCheck> healthCheck = node.has("healthCheck")
                ? Optional.of(healthCheck(prefix + ".healthCheck", node.get("healthCheck")))
                : Optional.empty();
        PassiveCheck passive = PassiveCheck.DISABLED;
        if (node.has("passiveCheck")) {
            String key = prefix + ".passiveCheck";
            JsonNode p = node.get("passiveCheck");
            requireObject(key, p, PASSIVE_KEYS, key + ".");
            passive = new PassiveCheck(
                    p.has("failures") ? integer(key + ".failures", p.get("failures")) : 3,
                    duration(key + ".coolOff", p.get("coolOff"), PassiveCheck.DISABLED.coolOff()));
        }
        int retries = node.has("retries") ? integer(prefix + ".retries", node.get("retries")) : Route.DEFAULT_RETRIES;
        Timeouts timeouts = Timeouts.DEFAULTS;
        if (node.has("timeouts")) {
            String key = prefix + ".timeouts";
            JsonNode t = node.get("timeouts");
            requireObject(key, t, TIMEOUT_KEYS, key + ".");
            timeouts = new Timeouts(
                    duration(key + ".connect", t.get("connect"), Timeouts.DEFAULT_CONNECT),
                    duration(key + ".idle", t.get("idle"), Duration.ZERO),
                    duration(key + ".clientFin", t.get("clientFin"), Duration.ZERO),
                    duration(key + ".serverFin", t.get("serverFin"), Duration.ZERO),
                    duration(key + ".queue", t.get("queue"), Duration.ZERO),
                    duration(key + ".maxLifetime", t.get("maxLifetime"), Duration.ZERO));
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
        Limits limits = new Limits(
                node.has("maxConnections") ? integer(prefix + ".maxConnections", node.get("maxConnections")) : 0,
                node.has("onLimit")
                        ? OnLimit.parse(prefix + ".onLimit", scalar(prefix + ".onLimit", node.get("onLimit")))
                        : OnLimit.REFUSE,
                node.has("perSourceMaxConnections")
                        ? integer(prefix + ".perSourceMaxConnections", node.get("perSourceMaxConnections"))
                        : 0,
                node.has("acceptRate") ? integer(prefix + ".acceptRate", node.get("acceptRate")) : 0);
        AccessList access =
                new AccessList(cidrs(prefix + ".allow", node.get("allow")), cidrs(prefix + ".deny", node.get("deny")));
        return new Route(
                name, listen, backends, balance, healthCheck, passive, retries, timeouts, waterMark, limits, access);
    }

    private BackendSpec backend(String key, JsonNode node) {
        if (node.isValueNode()) {
            return BackendSpec.of(HostAndPort.parse(key, scalar(key, node)).requireRealPort(key));
        }
        requireObject(key, node, BACKEND_KEYS, key + ".");
        if (!node.has("address")) {
            throw new ConfigException(key + ".address", "is required");
        }
        HostAndPort address = HostAndPort.parse(key + ".address", scalar(key + ".address", node.get("address")))
                .requireRealPort(key + ".address");
        try {
            return new BackendSpec(
                    address,
                    node.has("weight") ? integer(key + ".weight", node.get("weight")) : 1,
                    node.has("maxConnections") ? integer(key + ".maxConnections", node.get("maxConnections")) : 0,
                    node.has("backup") && bool(key + ".backup", node.get("backup")));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key);
        }
    }

    private HealthCheck healthCheck(String key, JsonNode node) {
        requireObject(key, node, HEALTH_KEYS, key + ".");
        HealthCheck d = HealthCheck.DEFAULTS;
        try {
            return new HealthCheck(
                    duration(key + ".interval", node.get("interval"), d.interval()),
                    duration(key + ".timeout", node.get("timeout"), d.timeout()),
                    node.has("rise") ? integer(key + ".rise", node.get("rise")) : d.rise(),
                    node.has("fall") ? integer(key + ".fall", node.get("fall")) : d.fall(),
                    node.has("send")
                            ? Optional.of(unescape(scalar(key + ".send", node.get("send"))))
                            : Optional.empty(),
                    node.has("expect")
                            ? Optional.of(unescape(scalar(key + ".expect", node.get("expect"))))
                            : Optional.empty(),
                    node.has("closeOnDown") && bool(key + ".closeOnDown", node.get("closeOnDown")));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key.substring(0, key.lastIndexOf('.')));
        }
    }

    private List<Cidr> cidrs(String key, JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new ConfigException(key, "expected a list of networks like [10.0.0.0/8, \"2001:db8::/32\"]");
        }
        List<Cidr> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String itemKey = key + "[" + i + "]";
            out.add(Cidr.parse(itemKey, scalar(itemKey, node.get(i))));
        }
        return out;
    }

    private Duration duration(String key, JsonNode node, Duration fallback) {
        return node == null ? fallback : ConfigValues.duration(key, scalar(key, node));
    }

    private boolean bool(String key, JsonNode node) {
        String text = scalar(key, node).trim();
        if (text.equals("true") || text.equals("false")) {
            return Boolean.parseBoolean(text);
        }
        throw ConfigException.badValue(key, text, "expected true or false");
    }

    /** Expands \\r, \\n, \\t and \\\\ in health-check payloads written in single-quoted or plain YAML. */
    private static String unescape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                char n = text.charAt(++i);
                switch (n) {
                    case 'r' -> out.append('\r');
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    default -> out.append(n);
                }
            } else {
                out.append(c);
            }
        }
        return out.toString();
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

    /** The parser's message without its multi-line excerpt of the file: the problem only, on one line. */
    private static String oneLine(String message) {
        return message.lines()
                .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
                .collect(java.util.stream.Collectors.joining(": "));
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
