package dev.strait.transport;

import static java.util.Objects.requireNonNull;

import dev.strait.config.TcpKeepalive;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.uring.IoUringChannelOption;
import jdk.net.ExtendedSocketOptions;

/**
 * TCP keepalive as one transport's channel options: SO_KEEPALIVE, and when it is on the kernel's TCP_KEEPIDLE,
 * TCP_KEEPINTVL and TCP_KEEPCNT (seconds, seconds, probes). Epoll and io_uring have their own options for the three;
 * NIO reaches them through the JDK's {@code jdk.net.ExtendedSocketOptions} (Linux and macOS; elsewhere Netty logs
 * them as unsupported and the system's times apply).
 *
 * @param idle the transport's TCP_KEEPIDLE option
 * @param interval the transport's TCP_KEEPINTVL option
 * @param count the transport's TCP_KEEPCNT option
 */
public record KeepaliveOptions(
        ChannelOption<Integer> idle, ChannelOption<Integer> interval, ChannelOption<Integer> count) {

    static final KeepaliveOptions EPOLL = new KeepaliveOptions(
            EpollChannelOption.TCP_KEEPIDLE, EpollChannelOption.TCP_KEEPINTVL, EpollChannelOption.TCP_KEEPCNT);

    static final KeepaliveOptions IO_URING = new KeepaliveOptions(
            IoUringChannelOption.TCP_KEEPIDLE, IoUringChannelOption.TCP_KEEPINTVL, IoUringChannelOption.TCP_KEEPCNT);

    static final KeepaliveOptions NIO = new KeepaliveOptions(
            NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE),
            NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL),
            NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT));

    // Linux's numbers (the native transports run only there): a listener's options as raw setsockopt levels and names,
    // which Netty's listener configs pass through, unlike the per-connection keepalive options above.
    private static final int SOL_SOCKET = 1;
    private static final int SO_KEEPALIVE = 9;
    private static final int IPPROTO_TCP = 6;
    private static final IntegerUnixChannelOption LISTENER_SO_KEEPALIVE =
            new IntegerUnixChannelOption("LISTENER_SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE);
    private static final IntegerUnixChannelOption LISTENER_TCP_KEEPIDLE =
            new IntegerUnixChannelOption("LISTENER_TCP_KEEPIDLE", IPPROTO_TCP, 4);
    private static final IntegerUnixChannelOption LISTENER_TCP_KEEPINTVL =
            new IntegerUnixChannelOption("LISTENER_TCP_KEEPINTVL", IPPROTO_TCP, 5);
    private static final IntegerUnixChannelOption LISTENER_TCP_KEEPCNT =
            new IntegerUnixChannelOption("LISTENER_TCP_KEEPCNT", IPPROTO_TCP, 6);

    public KeepaliveOptions {
        requireNonNull(idle, "idle");
        requireNonNull(interval, "interval");
        requireNonNull(count, "count");
    }

    /**
     * Sets keepalive on the connections the listener accepts (the client side). On Linux an accepted socket inherits
     * SO_KEEPALIVE and the three times from its listener, so the native transports set them once, on the listener,
     * rather than with four setsockopt calls per connection; NIO, whose server socket cannot take them, sets them per
     * connection. Keepalive off sets nothing: it is the kernel's default.
     */
    public ServerBootstrap applyToChildren(ServerBootstrap bootstrap, TcpKeepalive keepalive) {
        if (!keepalive.enabled()) {
            return bootstrap;
        }
        if (this != NIO) {
            return bootstrap
                    .option(LISTENER_SO_KEEPALIVE, 1)
                    .option(LISTENER_TCP_KEEPIDLE, keepalive.idleSeconds())
                    .option(LISTENER_TCP_KEEPINTVL, keepalive.intervalSeconds())
                    .option(LISTENER_TCP_KEEPCNT, keepalive.count());
        }
        return bootstrap
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(idle, keepalive.idleSeconds())
                .childOption(interval, keepalive.intervalSeconds())
                .childOption(count, keepalive.count());
    }

    /** Sets keepalive on the connections the bootstrap opens (the backend side). */
    public Bootstrap applyTo(Bootstrap bootstrap, TcpKeepalive keepalive) {
        if (keepalive.enabled()) { // off is the kernel's default: no setsockopt to say so again
            bootstrap
                    .option(ChannelOption.SO_KEEPALIVE, true)
                    .option(idle, keepalive.idleSeconds())
                    .option(interval, keepalive.intervalSeconds())
                    .option(count, keepalive.count());
        }
        return bootstrap;
    }
}
