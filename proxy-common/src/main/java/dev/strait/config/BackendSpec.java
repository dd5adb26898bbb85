package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * One configured backend: a {@code host:port} (a name may resolve to several addresses, each becoming a backend) and
 * how the balancer treats it.
 *
 * @param address where it is; a host name is re-resolved every {@code dns.refresh}
 * @param weight relative share of new connections, 1 to 256 (default 1)
 * @param maxConnections cap on live connections to each of its addresses; 0 means no cap
 * @param backup used only when no primary backend is available
 * @param sendProxyProtocol the PROXY header sent to it, overriding the route's {@code sendProxyProtocol}; empty: the
 *     route's
 * @param backendTls this backend's own TLS settings, replacing the route's {@code backendTls}
 */
public record BackendSpec(
        HostAndPort address,
        int weight,
        int maxConnections,
        boolean backup,
        Optional<ProxyHeaderVersion> sendProxyProtocol,
        Optional<BackendTls> backendTls) {

    public static final ConfigKey<HostAndPort> ADDRESS =
            ConfigKey.required("backends[].address", "host:port", (key, text) -> HostAndPort.parse(key, text)
                    .requireRealPort(key));
    public static final ConfigKey<Integer> WEIGHT =
            ConfigKey.of("backends[].weight", "integer, 1 to 256", "1", ConfigValues::integer);
    public static final ConfigKey<Integer> MAX_CONNECTIONS =
            ConfigKey.of("backends[].maxConnections", "integer; 0 = no cap", "0", ConfigValues::integer);
    public static final ConfigKey<Boolean> BACKUP =
            ConfigKey.of("backends[].backup", "true | false", "false", ConfigValues::bool);
    public static final ConfigKey<ProxyHeaderVersion> SEND_PROXY_PROTOCOL = ConfigKey.optional(
            "backends[].sendProxyProtocol", "off | v1 | v2; the route's when unset", ProxyHeaderVersion::parse);
    public static final ConfigKey<Void> BACKEND_TLS = ConfigKey.readByLoader(
            "backends[].backendTls", "mapping; the keys of backendTls, replacing the route's", "inherited");
    public static final List<ConfigKey<?>> KEYS =
            List.of(ADDRESS, WEIGHT, MAX_CONNECTIONS, BACKUP, SEND_PROXY_PROTOCOL, BACKEND_TLS);

    public BackendSpec {
        requireNonNull(address, "address");
        requireNonNull(backendTls, "backendTls");
        address.requireRealPort("address");
        if (weight < 1 || weight > 256) {
            throw ConfigException.badValue("weight", weight, "1 to 256");
        }
        if (maxConnections < 0) {
            throw ConfigException.badValue("maxConnections", maxConnections, "0 (no cap) or more");
        }
        requireNonNull(sendProxyProtocol, "sendProxyProtocol");
    }

    /** A backend that sends the PROXY header and uses the TLS settings its route says. */
    public BackendSpec(HostAndPort address, int weight, int maxConnections, boolean backup) {
        this(address, weight, maxConnections, backup, Optional.empty(), Optional.empty());
    }

    /** A primary backend of weight 1 with no cap. */
    public static BackendSpec of(HostAndPort address) {
        return new BackendSpec(address, WEIGHT.defaultValue(), MAX_CONNECTIONS.defaultValue(), BACKUP.defaultValue());
    }
}
