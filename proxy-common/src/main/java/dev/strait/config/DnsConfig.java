package dev.strait.config;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.time.Duration;
import java.util.List;

/**
 * How backend host names are resolved.
 *
 * @param refresh how often each name is looked up again (sooner when its record's TTL is shorter; never more often
 *     than once a second); also the longest an answer is cached
 * @param servers name servers to ask, as {@code host:port}; empty means the system's (/etc/resolv.conf, with its
 *     search domains)
 */
public record DnsConfig(Duration refresh, List<HostAndPort> servers) {

    public static final ConfigKey<Duration> REFRESH =
            ConfigKey.of("dns.refresh", "duration", "30s", ConfigValues::duration);
    public static final ConfigKey<Void> SERVERS = ConfigKey.readByLoader("dns.servers", "list of host:port", "system");
    public static final List<ConfigKey<?>> KEYS = List.of(REFRESH, SERVERS);

    public static final DnsConfig DEFAULTS = new DnsConfig(REFRESH.defaultValue(), List.of());

    public DnsConfig {
        requireNonNull(refresh, "refresh");
        servers = List.copyOf(requireNonNull(servers, "servers"));
        if (refresh.toMillis() < 1000) {
            throw ConfigException.badValue("dns.refresh", ConfigValues.format(refresh), "at least 1s");
        }
        for (HostAndPort server : servers) {
            server.requireRealPort("dns.servers");
            if (!NetUtil.isValidIpV4Address(server.host()) && !NetUtil.isValidIpV6Address(server.host())) {
                throw ConfigException.badValue("dns.servers", server, "a name server is an IP address and port");
            }
        }
    }
}
