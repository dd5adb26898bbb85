package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One entry of a route's {@code sni} list: the TLS server names it takes, and its own backends with the route's backend
 * keys. The route's own {@code backends} are the default target, for clients that match no entry.
 *
 * <p>Names are kept lower-case without a trailing dot. A name is exact ({@code db1.example.com}) or a wildcard over
 * exactly one leading label ({@code *.pg.example.com} matches {@code a.pg.example.com}, not {@code pg.example.com} nor
 * {@code a.b.pg.example.com}).
 *
 * @param serverNames at least one name
 * @param backends at least one backend
 * @param balance how a backend of this target is picked
 * @param healthCheck active health checks of this target's backends, if configured
 * @param passiveCheck passive health from failed client connects
 * @param retries further backends of this target tried when a connect fails
 */
public record SniTarget(
        List<String> serverNames,
        List<BackendSpec> backends,
        BalanceAlgorithm balance,
        Optional<HealthCheck> healthCheck,
        PassiveCheck passiveCheck,
        int retries) {

    public static final ConfigKey<Void> SNI = ConfigKey.readByLoader("sni", "list of mappings", "none");
    public static final ConfigKey<Void> SERVER_NAMES =
            ConfigKey.readByLoader("sni[].serverNames", "list of names; *.domain for one label", ConfigKey.REQUIRED);
    public static final ConfigKey<Void> BACKENDS =
            ConfigKey.readByLoader("sni[].backends", "list of host:port or mappings", ConfigKey.REQUIRED);
    public static final ConfigKey<Void> BALANCE =
            ConfigKey.readByLoader("sni[].balance", "as balance", "least-connections");
    public static final ConfigKey<Void> HEALTH_CHECK = ConfigKey.readByLoader("sni[].healthCheck", "mapping", "off");
    public static final ConfigKey<Void> PASSIVE_CHECK = ConfigKey.readByLoader("sni[].passiveCheck", "mapping", "off");
    public static final ConfigKey<Void> RETRIES = ConfigKey.readByLoader("sni[].retries", "integer", "2");
    public static final List<ConfigKey<?>> KEYS =
            List.of(SNI, SERVER_NAMES, BACKENDS, BALANCE, HEALTH_CHECK, PASSIVE_CHECK, RETRIES);

    public SniTarget {
        requireNonNull(balance, "balance");
        requireNonNull(healthCheck, "healthCheck");
        requireNonNull(passiveCheck, "passiveCheck");
        List<String> names = new ArrayList<>();
        for (String name : requireNonNull(serverNames, "serverNames")) {
            names.add(normalize(name));
        }
        if (names.isEmpty()) {
            throw new ConfigException("serverNames", "at least one server name is required");
        }
        serverNames = List.copyOf(names);
        backends = List.copyOf(requireNonNull(backends, "backends"));
        if (backends.isEmpty()) {
            throw new ConfigException("backends", "at least one backend is required");
        }
        if (retries < 0 || retries > 100) {
            throw ConfigException.badValue("retries", retries, "0 to 100");
        }
    }

    /** The target's name in metrics, logs and {@code /backends}: its first server name. */
    public String name() {
        return serverNames.get(0);
    }

    /**
     * A server name as matched: lower-case, without a trailing dot; a wildcard only as the whole first label.
     *
     * @throws ConfigException naming {@code serverNames} and the value when it is not a host name
     */
    public static String normalize(String name) {
        requireNonNull(name, "name");
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        String rest = n.startsWith("*.") ? n.substring(2) : n;
        if (rest.isEmpty()
                || n.length() > 253
                || !rest.matches("[a-z0-9_]([a-z0-9_-]{0,62})(\\.[a-z0-9_][a-z0-9_-]{0,62})*")) {
            throw ConfigException.badValue("serverNames", name, "a host name, or *.domain for any one label");
        }
        return n;
    }
}
