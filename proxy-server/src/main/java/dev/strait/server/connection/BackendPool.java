package dev.strait.server.connection;

import dev.strait.config.HostAndPort;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The backends of one route, in the order they are tried.
 *
 * <p>IP literals are turned into addresses once, here; host names stay unresolved so that the backend bootstrap's
 * non-blocking DNS resolver looks them up on connect (honouring the record's TTL), never blocking an event loop.
 */
public final class BackendPool {
    private final List<HostAndPort> backends;
    private final List<InetSocketAddress> addresses;

    public BackendPool(List<HostAndPort> backends) {
        this.backends = List.copyOf(backends);
        this.addresses = this.backends.stream().map(BackendPool::address).toList();
    }

    /** The backends to try for a new connection, first choice first. */
    public List<InetSocketAddress> candidates() {
        return addresses;
    }

    /** The backends as configured. */
    public List<HostAndPort> backends() {
        return backends;
    }

    private static InetSocketAddress address(HostAndPort backend) {
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(backend.host());
        if (literal == null) {
            return InetSocketAddress.createUnresolved(backend.host(), backend.port());
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(literal), backend.port());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an IP literal of " + literal.length + " bytes", e);
        }
    }
}
