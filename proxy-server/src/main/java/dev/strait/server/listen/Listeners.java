package dev.strait.server.listen;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HostAndPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;

/**
 * Binding listener sockets and naming their addresses, the same way for routes and the admin endpoint: a failed bind
 * becomes one {@link ListenException} line that says which address and what for.
 */
public final class Listeners {
    private Listeners() {}

    /** Binds a server bootstrap and waits for it; {@code what} says what the listener is for, e.g. "route db". */
    public static Channel bind(ServerBootstrap bootstrap, HostAndPort address, String what) throws ListenException {
        requireNonNull(what, "what");
        try {
            return bootstrap
                    .bind(new InetSocketAddress(address.host(), address.port()))
                    .syncUninterruptibly()
                    .channel();
        } catch (Exception e) {
            throw new ListenException(address, what, e);
        }
    }

    /**
     * Binds the address once without SO_REUSEPORT, then lets it go: another process listening there makes this fail
     * (SO_REUSEPORT alone would share the port silently). Returns the address with the port the kernel chose.
     */
    public static HostAndPort probe(HostAndPort address, String what) throws ListenException {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(address.host(), address.port()));
            return new HostAndPort(address.host(), probe.getLocalPort());
        } catch (IOException e) {
            throw new ListenException(address, what, e);
        }
    }

    /** "127.0.0.1:15432" or "[::1]:15432". */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String host = inet.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return String.valueOf(address);
    }
}
