package dev.strait.server.backend;

import io.netty.channel.EventLoop;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.resolver.dns.DefaultDnsCache;
import io.netty.resolver.dns.DnsCacheEntry;
import java.net.InetAddress;

/**
 * A DNS cache that keeps answers for at most the refresh period and remembers the shortest TTL it was handed since
 * the last {@link #takeShortestTtl()}, so the next lookup can come sooner when the zone asks for it.
 *
 * <p>Used from one event loop.
 */
final class TtlRecordingCache extends DefaultDnsCache {
    private long shortestTtl = Long.MAX_VALUE;

    TtlRecordingCache(int maxTtlSeconds) {
        super(0, maxTtlSeconds, 0);
    }

    @Override
    public DnsCacheEntry cache(
            String hostname, DnsRecord[] additionals, InetAddress address, long originalTtl, EventLoop loop) {
        shortestTtl = Math.min(shortestTtl, originalTtl);
        return super.cache(hostname, additionals, address, originalTtl, loop);
    }

    /** The shortest TTL seen since the last call, in seconds, or {@link Long#MAX_VALUE} if none; then forgets it. */
    long takeShortestTtl() {
        long ttl = shortestTtl;
        shortestTtl = Long.MAX_VALUE;
        return ttl;
    }
}
