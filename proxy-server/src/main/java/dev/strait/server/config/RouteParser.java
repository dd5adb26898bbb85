package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.AccessList;
import dev.strait.config.AccessLog;
import dev.strait.config.BackendSpec;
import dev.strait.config.BackendTls;
import dev.strait.config.ClientAuth;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigKey;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.HttpCheck;
import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.PostgresLogin;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.Route;
import dev.strait.config.RouteCapture;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import dev.strait.config.TcpKeepalive;
import dev.strait.config.Timeouts;
import dev.strait.config.TlsConfig;
import dev.strait.config.WaterMark;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Turns one {@code routes[i]} mapping of the config into a {@link Route}, naming the full key path in every error. */
final class RouteParser {
    private static final Set<String> ROUTE_FIELDS = ConfigKey.fieldsUnder("", Route.KEYS);
    private static final Set<String> BACKEND_FIELDS = ConfigKey.fieldsUnder("backends[]", Route.KEYS);
    private static final Set<String> HEALTH_FIELDS = ConfigKey.fieldsUnder("healthCheck", Route.KEYS);
    private static final Set<String> HTTP_FIELDS = ConfigKey.fieldsUnder("healthCheck.http", Route.KEYS);
    private static final Set<String> POSTGRES_FIELDS = ConfigKey.fieldsUnder("healthCheck.postgres", Route.KEYS);
    private static final Set<String> PASSIVE_FIELDS = ConfigKey.fieldsUnder("passiveCheck", Route.KEYS);
    private static final Set<String> TIMEOUT_FIELDS = ConfigKey.fieldsUnder("timeouts", Route.KEYS);
    private static final Set<String> WATER_MARK_FIELDS = ConfigKey.fieldsUnder("writeBufferWaterMark", Route.KEYS);
    private static final Set<String> CAPTURE_FIELDS = ConfigKey.fieldsUnder("capture", Route.KEYS);
    private static final Set<String> KEEPALIVE_FIELDS = ConfigKey.fieldsUnder("tcpKeepalive", Route.KEYS);
    private static final Set<String> SNI_FIELDS = ConfigKey.fieldsUnder("sni[]", Route.KEYS);
    static final Set<String> ACCESS_LOG_FIELDS = ConfigKey.fieldsUnder("accessLog", Route.KEYS);
    private static final Set<String> PROXY_PROTOCOL_FIELDS = ConfigKey.fieldsUnder("proxyProtocol", Route.KEYS);
    private static final Set<String> TLS_FIELDS = ConfigKey.fieldsUnder("tls", Route.KEYS);
    private static final Set<String> TLS_CERT_FIELDS = ConfigKey.fieldsUnder("tls.certificates[]", Route.KEYS);
    private static final Set<String> BACKEND_TLS_FIELDS = ConfigKey.fieldsUnder("backendTls", Route.KEYS);

    private final YamlValues values;

    RouteParser(YamlValues values) {
        this.values = requireNonNull(values, "values");
    }

    Route route(String prefix, JsonNode node) {
        YamlValues.requireObject(prefix, node, ROUTE_FIELDS, prefix + ".");
        String name = node.has("name")
                ? values.scalar(prefix + ".name", node.get("name"))
                : "route-" + prefix.substring(7, prefix.length() - 1);
        HostAndPort listen = values.value(node, prefix, Route.LISTEN);
        List<SniTarget> sni = sni(prefix + ".sni", node.get("sni"));
        List<BackendSpec> backends = sni.isEmpty() || node.has("backends")
                ? backends(prefix + ".backends", node.get("backends"))
                : List.of(); // an sni route without default backends closes clients that match no target
        JsonNode health = YamlValues.block(node, prefix + ".healthCheck", "healthCheck", HEALTH_FIELDS);
        JsonNode passive = YamlValues.block(node, prefix + ".passiveCheck", "passiveCheck", PASSIVE_FIELDS);
        RouteProtocol protocol = values.value(node, prefix, Route.PROTOCOL);
        try {
            return route(name, listen, node, prefix, backends, health, passive, sni, protocol);
        } catch (ConfigException e) {
            throw e.key().startsWith(prefix) ? e : e.under(prefix);
        }
    }

    private Route route(
            String name,
            HostAndPort listen,
            JsonNode node,
            String prefix,
            List<BackendSpec> backends,
            JsonNode health,
            JsonNode passive,
            List<SniTarget> sni,
            RouteProtocol protocol) {
        Route route = new Route(
                name,
                listen,
                backends,
                values.value(node, prefix, Route.BALANCE),
                health == null ? Optional.empty() : Optional.of(healthCheck(prefix + ".healthCheck", health)),
                passive == null
                        ? PassiveCheck.DISABLED
                        : new PassiveCheck(
                                values.value(passive, prefix + ".passiveCheck", PassiveCheck.FAILURES),
                                values.value(passive, prefix + ".passiveCheck", PassiveCheck.COOL_OFF)),
                values.value(node, prefix, Route.RETRIES),
                timeouts(
                        prefix + ".timeouts", YamlValues.block(node, prefix + ".timeouts", "timeouts", TIMEOUT_FIELDS)),
                waterMark(
                        prefix + ".writeBufferWaterMark",
                        YamlValues.block(
                                node, prefix + ".writeBufferWaterMark", "writeBufferWaterMark", WATER_MARK_FIELDS)),
                new Limits(
                        values.value(node, prefix, Limits.MAX_CONNECTIONS),
                        values.value(node, prefix, Limits.ON_LIMIT),
                        values.value(node, prefix, Limits.PER_SOURCE_MAX_CONNECTIONS),
                        values.value(node, prefix, Limits.ACCEPT_RATE)),
                new AccessList(
                        values.cidrs(prefix + ".allow", node.get("allow")),
                        values.cidrs(prefix + ".deny", node.get("deny"))),
                tcpKeepalive(
                        prefix + ".tcpKeepalive",
                        YamlValues.block(node, prefix + ".tcpKeepalive", "tcpKeepalive", KEEPALIVE_FIELDS)),
                sni,
                protocol,
                accessLog(
                        prefix + ".accessLog",
                        YamlValues.block(node, prefix + ".accessLog", "accessLog", ACCESS_LOG_FIELDS)),
                capture(prefix + ".capture", YamlValues.block(node, prefix + ".capture", "capture", CAPTURE_FIELDS)),
                proxyProtocol(prefix, node),
                Optional.empty(),
                Optional.empty(),
                values.value(node, prefix, Route.DEFER_ACCEPT));
        JsonNode tls = YamlValues.block(node, prefix + ".tls", "tls", TLS_FIELDS);
        JsonNode backendTls = YamlValues.block(node, prefix + ".backendTls", "backendTls", BACKEND_TLS_FIELDS);
        if (tls == null
                && backendTls == null
                && route.backends().stream().allMatch(b -> b.backendTls().isEmpty())) {
            return route;
        }
        route = route.withTls(
                tls == null ? Optional.empty() : Optional.of(tls(prefix + ".tls", tls)),
                backendTls == null ? Optional.empty() : Optional.of(backendTls(prefix + ".backendTls", backendTls)));
        TlsFiles.check(prefix, route);
        return route;
    }

    private List<BackendSpec> backends(String key, JsonNode backendsNode) {
        if (backendsNode == null || !backendsNode.isArray() || backendsNode.isEmpty()) {
            throw new ConfigException(key, "a list of at least one host:port is required");
        }
        List<BackendSpec> backends = new ArrayList<>();
        for (int i = 0; i < backendsNode.size(); i++) {
            backends.add(backend(key + "[" + i + "]", backendsNode.get(i)));
        }
        return backends;
    }

    /** The route's {@code sni} list; absent: empty. */
    private List<SniTarget> sni(String key, JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (!node.isArray() || node.isEmpty()) {
            throw new ConfigException(key, "expected a list of {serverNames: [...], backends: [...]} mappings");
        }
        List<SniTarget> targets = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String at = key + "[" + i + "]";
            JsonNode entry = node.get(i);
            YamlValues.requireObject(at, entry, SNI_FIELDS, at + ".");
            JsonNode namesNode = entry.get("serverNames");
            if (namesNode == null || !namesNode.isArray() || namesNode.isEmpty()) {
                throw new ConfigException(at + ".serverNames", "a list of at least one server name is required");
            }
            List<String> names = new ArrayList<>();
            for (int n = 0; n < namesNode.size(); n++) {
                String nameKey = at + ".serverNames[" + n + "]";
                String name = values.scalar(nameKey, namesNode.get(n));
                try {
                    names.add(SniTarget.normalize(name));
                } catch (ConfigException e) {
                    throw ConfigException.badValue(nameKey, name, "a host name, or *.domain for any one label");
                }
            }
            JsonNode health = YamlValues.block(entry, at + ".healthCheck", "healthCheck", HEALTH_FIELDS);
            JsonNode passive = YamlValues.block(entry, at + ".passiveCheck", "passiveCheck", PASSIVE_FIELDS);
            try {
                targets.add(new SniTarget(
                        names,
                        backends(at + ".backends", entry.get("backends")),
                        values.value(entry, at, Route.BALANCE),
                        health == null ? Optional.empty() : Optional.of(healthCheck(at + ".healthCheck", health)),
                        passive == null
                                ? PassiveCheck.DISABLED
                                : new PassiveCheck(
                                        values.value(passive, at + ".passiveCheck", PassiveCheck.FAILURES),
                                        values.value(passive, at + ".passiveCheck", PassiveCheck.COOL_OFF)),
                        values.value(entry, at, Route.RETRIES)));
            } catch (ConfigException e) {
                throw e.key().startsWith(at) ? e : e.under(at);
            }
        }
        return targets;
    }

    /** The access log at {@code path}; a missing block (null) gives every default. */
    AccessLog accessLog(String path, JsonNode a) {
        return new AccessLog(
                values.value(a, path, AccessLog.ENABLED),
                values.value(a, path, AccessLog.FORMAT),
                values.value(a, path, AccessLog.TARGET),
                values.value(a, path, AccessLog.ON_CONNECT),
                values.value(a, path, AccessLog.PERIODIC));
    }

    /** The capture a route starts with; none without a {@code capture} block. */
    private Optional<RouteCapture> capture(String path, JsonNode c) {
        if (c == null) {
            return Optional.empty();
        }
        long maxBytes = values.value(c, path, RouteCapture.MAX_BYTES);
        return Optional.of(new RouteCapture(
                values.value(c, path, RouteCapture.SECONDS),
                maxBytes,
                values.optional(c, path, RouteCapture.MAX_BYTES_PER_CONNECTION)
                        .map(Integer::longValue)
                        .orElse(maxBytes)));
    }

    /** {@code proxyProtocol} and {@code sendProxyProtocol}; both left out give {@link ProxyProtocol#OFF}. */
    private ProxyProtocol proxyProtocol(String prefix, JsonNode route) {
        String path = prefix + ".proxyProtocol";
        JsonNode p = YamlValues.block(route, path, "proxyProtocol", PROXY_PROTOCOL_FIELDS);
        try {
            return new ProxyProtocol(
                    values.value(p, path, ProxyProtocol.ACCEPT),
                    values.cidrs(path + ".trustedSources", p == null ? null : p.get("trustedSources")),
                    values.value(p, path, ProxyProtocol.HEADER_TIMEOUT),
                    values.value(route, prefix, ProxyProtocol.SEND));
        } catch (ConfigException e) {
            throw e.key().startsWith(prefix) ? e : e.under(prefix);
        }
    }

    /** The {@code tls} block at {@code key}. */
    private TlsConfig tls(String key, JsonNode node) {
        JsonNode certs = node.get("certificates");
        if (certs == null || !certs.isArray() || certs.isEmpty()) {
            throw new ConfigException(key + ".certificates", "a list of at least one {cert, key} is required");
        }
        List<TlsConfig.Certificate> certificates = new ArrayList<>();
        for (int i = 0; i < certs.size(); i++) {
            String at = key + ".certificates[" + i + "]";
            JsonNode c = certs.get(i);
            YamlValues.requireObject(at, c, TLS_CERT_FIELDS, at + ".");
            certificates.add(
                    new TlsConfig.Certificate(values.value(c, at, TlsConfig.CERT), values.value(c, at, TlsConfig.KEY)));
        }
        try {
            return new TlsConfig(
                    certificates,
                    node.has("protocols")
                            ? strings(key + ".protocols", node.get("protocols"))
                            : List.of("TLSv1.3", "TLSv1.2"),
                    values.optional(node, key, TlsConfig.CLIENT_AUTH).orElse(ClientAuth.NONE), // "none" reads as absent
                    values.optional(node, key, TlsConfig.CLIENT_CA),
                    strings(key + ".alpn", node.get("alpn")),
                    values.value(node, key, TlsConfig.HANDSHAKE_TIMEOUT),
                    values.value(node, key, TlsConfig.PROVIDER),
                    values.value(node, key, TlsConfig.ALLOW_EXPIRED));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key.substring(0, key.lastIndexOf('.')));
        }
    }

    /** A {@code backendTls} block at {@code key} (a route's, or one backend's). */
    private BackendTls backendTls(String key, JsonNode node) {
        YamlValues.requireObject(key, node, BACKEND_TLS_FIELDS, key + ".");
        try {
            return new BackendTls(
                    values.value(node, key, BackendTls.ENABLED),
                    values.optional(node, key, BackendTls.SERVER_NAME),
                    values.value(node, key, BackendTls.VERIFY),
                    values.optional(node, key, BackendTls.CA),
                    values.optional(node, key, BackendTls.CERT),
                    values.optional(node, key, BackendTls.KEY),
                    strings(key + ".alpn", node.get("alpn")));
        } catch (ConfigException e) {
            if (e.key().startsWith(key)) {
                throw e;
            }
            String problem = e.getMessage().substring(e.key().length() + 2);
            throw new ConfigException(key + e.key().substring("backendTls".length()), problem);
        }
    }

    /** A list of plain values at {@code key}; absent is empty. */
    private List<String> strings(String key, JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new ConfigException(key, "expected a list like [a, b], found \"" + node + "\"");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(values.scalar(key + "[" + i + "]", node.get(i)).trim());
        }
        return out;
    }

    /** TCP keepalive at {@code path}; a missing block (null) gives every default. */
    private TcpKeepalive tcpKeepalive(String path, JsonNode k) {
        return new TcpKeepalive(
                values.value(k, path, TcpKeepalive.IDLE),
                values.value(k, path, TcpKeepalive.INTERVAL),
                values.value(k, path, TcpKeepalive.COUNT));
    }

    /** The timeouts at {@code path}; a missing block (null) gives every default. */
    private Timeouts timeouts(String path, JsonNode t) {
        return new Timeouts(
                values.value(t, path, Timeouts.CONNECT),
                values.value(t, path, Timeouts.IDLE),
                values.value(t, path, Timeouts.CLIENT_FIN),
                values.value(t, path, Timeouts.SERVER_FIN),
                values.value(t, path, Timeouts.QUEUE),
                values.value(t, path, Timeouts.MAX_LIFETIME),
                values.value(t, path, Timeouts.CLIENT_HELLO),
                values.value(t, path, Timeouts.SILENT_CLIENT));
    }

    private WaterMark waterMark(String path, JsonNode w) {
        int high = values.value(w, path, WaterMark.HIGH);
        // A high mark set below the default low one pulls an unset low mark down with it.
        int low = w != null && w.has(WaterMark.LOW.field())
                ? values.value(w, path, WaterMark.LOW)
                : Math.min(WaterMark.LOW.defaultValue(), high);
        return new WaterMark(low, high);
    }

    private BackendSpec backend(String key, JsonNode node) {
        if (node.isValueNode()) {
            return BackendSpec.of(BackendSpec.ADDRESS.parse(key, values.scalar(key, node)));
        }
        YamlValues.requireObject(key, node, BACKEND_FIELDS, key + ".");
        HostAndPort address = values.value(node, key, BackendSpec.ADDRESS);
        JsonNode tls = node.get(BackendSpec.BACKEND_TLS.field());
        try {
            return new BackendSpec(
                    address,
                    values.value(node, key, BackendSpec.WEIGHT),
                    values.value(node, key, BackendSpec.MAX_CONNECTIONS),
                    values.value(node, key, BackendSpec.BACKUP),
                    values.optional(node, key, BackendSpec.SEND_PROXY_PROTOCOL),
                    tls == null ? Optional.empty() : Optional.of(backendTls(key + ".backendTls", tls)));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key);
        }
    }

    private HealthCheck healthCheck(String key, JsonNode node) {
        JsonNode http = YamlValues.block(node, key + ".http", "http", HTTP_FIELDS);
        JsonNode postgres = YamlValues.block(node, key + ".postgres", "postgres", POSTGRES_FIELDS);
        try {
            return new HealthCheck(
                    values.value(node, key, HealthCheck.INTERVAL),
                    values.value(node, key, HealthCheck.TIMEOUT),
                    values.value(node, key, HealthCheck.RISE),
                    values.value(node, key, HealthCheck.FALL),
                    values.optional(node, key, HealthCheck.SEND).map(RouteParser::unescape),
                    values.optional(node, key, HealthCheck.EXPECT).map(RouteParser::unescape),
                    values.value(node, key, HealthCheck.CLOSE_ON_DOWN),
                    values.optional(node, key, HealthCheck.PORT),
                    values.value(node, key, HealthCheck.TYPE),
                    http == null ? Optional.empty() : Optional.of(httpCheck(key + ".http", http)),
                    values.optional(node, key, HealthCheck.EXPECT_CONTAINS).map(RouteParser::unescape),
                    postgresLogin(key + ".postgres", postgres),
                    values.value(node, key, HealthCheck.CLOSE_WITH_RESET));
        } catch (ConfigException e) {
            throw e.key().startsWith(key) ? e : e.under(key.substring(0, key.lastIndexOf('.')));
        }
    }

    private HttpCheck httpCheck(String key, JsonNode node) {
        return new HttpCheck(
                values.value(node, key, HttpCheck.PATH),
                values.value(node, key, HttpCheck.EXPECT_STATUS),
                values.optional(node, key, HttpCheck.HOST));
    }

    /** The probe's login; the database defaults to the user, as psql's does. */
    private PostgresLogin postgresLogin(String key, JsonNode node) {
        String user = values.value(node, key, PostgresLogin.USER);
        return new PostgresLogin(
                user, values.optional(node, key, PostgresLogin.DATABASE).orElse(user));
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
