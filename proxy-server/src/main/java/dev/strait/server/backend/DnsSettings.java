package dev.strait.server.backend;

import static java.util.Objects.requireNonNull;

import dev.strait.transport.Transport;
import io.netty.channel.EventLoop;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import java.time.Duration;

/**
 * How backend names are resolved: the transport's UDP channel, the name servers (the system's by default) and the
 * refresh period, which also caps how long an answer is cached.
 */
public record DnsSettings(Transport transport, DnsServerAddressStreamProvider servers, Duration refresh) {

    public DnsSettings {
        requireNonNull(transport, "transport");
        requireNonNull(servers, "servers");
        requireNonNull(refresh, "refresh");
    }

    /** The system's name servers and search domains (from /etc/resolv.conf on Linux). */
    public static DnsSettings system(Transport transport, Duration refresh) {
        return new DnsSettings(transport, DnsServerAddressStreamProviders.platformDefault(), refresh);
    }

    /** A resolver on {@code loop} whose cache records the shortest TTL it was given. */
    DnsNameResolver newResolver(EventLoop loop, TtlRecordingCache cache) {
        return new DnsNameResolverBuilder(loop)
                .datagramChannelType(transport.datagramChannel())
                .socketChannelType(transport.socketChannel())
                .nameServerProvider(servers)
                .resolveCache(cache)
                .queryTimeoutMillis(Math.min(5000, Math.max(500, refresh.toMillis() / 2)))
                .build();
    }
}
