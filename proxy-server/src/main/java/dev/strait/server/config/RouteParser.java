package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.AccessList;
import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.PassiveCheck;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.WaterMark;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Turns one {@code routes[i]} mapping of the config into a {@link Route}, naming the full key path in every error. */
final class RouteParser {
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
    private static final Set<String> TIMEOUT_KEYS =
            Set.of("connect", "idle", "clientFin", "serverFin", "queue", "maxLifetime");
    private static final Set<String> WATER_MARK_KEYS = Set.of("low", "high");

    private final YamlValues values;

    RouteParser(YamlValues values) {
        this.values = requireNonNull(values, "values");
    }

    Route route(String prefix, JsonNode node) {
        YamlValues.requireObject(prefix, node, ROUTE_KEYS, prefix + ".");
        String name = node.has("name")
                ? values.scalar(prefix + ".name", node.get("name"))
                : "route-" + prefix.substring(7, prefix.length() - 1);
        if (!node.has("listen")) {
            throw new ConfigException(prefix + ".listen", "is required");
        }
        HostAndPort listen =
                HostAndPort.parse(prefix + ".listen", values.scalar(prefix + ".listen", node.get("listen")));
        JsonNode backendsNode = node.get("backends");
        if (backendsNode == null || !backendsNode.isArray() || backendsNode.isEmpty()) {
            throw new ConfigException(prefix + ".backends", "a list of at least one host:port is required");
        }
        List<BackendSpec> backends = new ArrayList<>();
        for (int i = 0; i < backendsNode.size(); i++) {
            backends.add(backend(prefix + ".backends[" + i + "]", backendsNode.get(i)));
        }
        BalanceAlgorithm balance = node.has("balance")
                ? BalanceAlgorithm.parse(prefix + ".balance", values.scalar(prefix + ".balance", node.get("balance")))
                : BalanceAlgorithm.LEAST_CONNECTIONS;
        Optional<HealthCheck> healthCheck = node.has("healthCheck")
                ? Optional.of(healthCheck(prefix + ".healthCheck", node.get("healthCheck")))
                : Optional.empty();
        PassiveCheck passive = PassiveCheck.DISABLED;
        if (node.has("passiveCheck")) {
            String key = prefix + ".passiveCheck";
            JsonNode p = node.get("passiveCheck");
            YamlValues.requireObject(key, p, PASSIVE_KEYS, key + ".");
            passive = new PassiveCheck(
                    p.has("failures") ? values.integer(key + ".failures", p.get("failures")) : 3,
                    values.duration(key + ".coolOff", p.get("coolOff"), PassiveCheck.DISABLED.coolOff()));
        }
        int retries =
                node.has("retries") ? values.integer(prefix + ".retries", node.get("retries")) : Route.DEFAULT_RETRIES;
        Timeouts timeouts = Timeouts.DEFAULTS;
        if (node.has("timeouts")) {
            String key = prefix + ".timeouts";
            JsonNode t = node.get("timeouts");
            YamlValues.requireObject(key, t, TIMEOUT_KEYS, key + ".");
            timeouts = new Timeouts(
                    values.duration(key + ".connect", t.get("connect"), Timeouts.DEFAULT_CONNECT),
                    values.duration(key + ".idle", t.get("idle"), Duration.ZERO),
                    values.duration(key + ".clientFin", t.get("clientFin"), Duration.ZERO),
                    values.duration(key + ".serverFin", t.get("serverFin"), Duration.ZERO),
                    values.duration(key + ".queue", t.get("queue"), Duration.ZERO),
                    values.duration(key + ".maxLifetime", t.get("maxLifetime"), Duration.ZERO));
        }
        WaterMark waterMark = WaterMark.DEFAULT;
        if (node.has("writeBufferWaterMark")) {
            String key = prefix + ".writeBufferWaterMark";
            JsonNode w = node.get("writeBufferWaterMark");
            YamlValues.requireObject(key, w, WATER_MARK_KEYS, key + ".");
            int high = w.has("high")
                    ? ConfigValues.size(key + ".high", values.scalar(key + ".high", w.get("high")))
                    : WaterMark.DEFAULT.high();
            int low = w.has("low")
                    ? ConfigValues.size(key + ".low", values.scalar(key + ".low", w.get("low")))
                    : Math.min(WaterMark.DEFAULT.low(), high);
            waterMark = new WaterMark(low, high);
        }
        Limits limits = new Limits(
                node.has("maxConnections") ? values.integer(prefix + ".maxConnections", node.get("maxConnections")) : 0,
                node.has("onLimit")
                        ? OnLimit.parse(prefix + ".onLimit", values.scalar(prefix + ".onLimit", node.get("onLimit")))
                        : OnLimit.REFUSE,
                node.has("perSourceMaxConnections")
                        ? values.integer(prefix + ".perSourceMaxConnections", node.get("perSourceMaxConnections"))
                        : 0,
                node.has("acceptRate") ? values.integer(prefix + ".acceptRate", node.get("acceptRate")) : 0);
        AccessList access = new AccessList(
                values.cidrs(prefix + ".allow", node.get("allow")), values.cidrs(prefix + ".deny", node.get("deny")));
        return new Route(
                name, listen, backends, balance, healthCheck, passive, retries, timeouts, waterMark, limits, access);
    }

    private BackendSpec backend(String key, JsonNode node) {
        if (node.isValueNode()) {
            return BackendSpec.of(
                    HostAndPort.parse(key, values.scalar(key, node)).requireRealPort(key));
        }
        YamlValues.requireObject(key, node, BACKEND_KEYS, key + ".");
        if (!node.has("address")) {
            throw new ConfigException(key + ".address", "is required");
        }
        HostAndPort address = HostAndPort.parse(key + ".address", values.scalar(key + ".address", node.get("address")))
                .requireRealPort(key + ".address");
        try {
            return new BackendSpec(
                    address,
                    node.has("weight") ? values.integer(key + ".weight", node.get("weight")) : 1,
                    node.has("maxConnections")
                            ? values.integer(key + ".maxConnections", node.get("maxConnections"))
                            : 0,
                    node.has("backup") && values.bool(key + ".backup", node.get("backup")));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key);
        }
    }

    private HealthCheck healthCheck(String key, JsonNode node) {
        YamlValues.requireObject(key, node, HEALTH_KEYS, key + ".");
        HealthCheck d = HealthCheck.DEFAULTS;
        try {
            return new HealthCheck(
                    values.duration(key + ".interval", node.get("interval"), d.interval()),
                    values.duration(key + ".timeout", node.get("timeout"), d.timeout()),
                    node.has("rise") ? values.integer(key + ".rise", node.get("rise")) : d.rise(),
                    node.has("fall") ? values.integer(key + ".fall", node.get("fall")) : d.fall(),
                    node.has("send")
                            ? Optional.of(unescape(values.scalar(key + ".send", node.get("send"))))
                            : Optional.empty(),
                    node.has("expect")
                            ? Optional.of(unescape(values.scalar(key + ".expect", node.get("expect"))))
                            : Optional.empty(),
                    node.has("closeOnDown") && values.bool(key + ".closeOnDown", node.get("closeOnDown")));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key.substring(0, key.lastIndexOf('.')));
        }
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
}
