package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/**
 * The PROXY protocol on a route: whether its clients must open with a header that names the real client
 * ({@code proxyProtocol.accept}, from the peers in {@code trustedSources}, within {@code headerTimeout}), and whether
 * Strait sends one on to the backends ({@code sendProxyProtocol}, which a backend may override).
 *
 * @param accept whether a header is required from every client of the route
 * @param trustedSources the TCP peers (load balancers) allowed to send one; any other peer is closed at once
 * @param headerTimeout how long a trusted peer has to send the whole header; above 0
 * @param send the header written first on each backend connection, unless the backend says otherwise
 */
public record ProxyProtocol(
        boolean accept, List<Cidr> trustedSources, Duration headerTimeout, ProxyHeaderVersion send) {

    public static final ConfigKey<Boolean> ACCEPT =
            ConfigKey.of("proxyProtocol.accept", "true | false", "false", ConfigValues::bool);
    public static final ConfigKey<Void> TRUSTED_SOURCES =
            ConfigKey.readByLoader("proxyProtocol.trustedSources", "list of CIDRs; required with accept", "[]");
    public static final ConfigKey<Duration> HEADER_TIMEOUT =
            ConfigKey.of("proxyProtocol.headerTimeout", "duration, above 0", "5s", ConfigValues::duration);
    public static final ConfigKey<ProxyHeaderVersion> SEND =
            ConfigKey.of("sendProxyProtocol", "off | v1 | v2", "off", ProxyHeaderVersion::parse);
    public static final List<ConfigKey<?>> KEYS = List.of(ACCEPT, TRUSTED_SOURCES, HEADER_TIMEOUT, SEND);

    /** Neither accepted nor sent. */
    public static final ProxyProtocol OFF =
            new ProxyProtocol(false, List.of(), HEADER_TIMEOUT.defaultValue(), ProxyHeaderVersion.OFF);

    public ProxyProtocol {
        trustedSources = List.copyOf(requireNonNull(trustedSources, "trustedSources"));
        requireNonNull(headerTimeout, "headerTimeout");
        requireNonNull(send, "send");
        if (headerTimeout.isNegative() || headerTimeout.isZero()) {
            throw ConfigException.badValue(
                    HEADER_TIMEOUT.name(), ConfigValues.format(headerTimeout), "a duration above 0");
        }
        if (accept && trustedSources.isEmpty()) {
            throw new ConfigException(
                    TRUSTED_SOURCES.name(),
                    "at least one network is required with accept: true (the load balancers that may send a header)");
        }
    }

    /** Whether {@code peer}, a client's TCP peer, may send a header. */
    public boolean trusts(InetAddress peer) {
        for (Cidr c : trustedSources) {
            if (c.contains(peer)) {
                return true;
            }
        }
        return false;
    }
}
