package dev.strait.transport;

import static java.util.Objects.requireNonNull;

import dev.strait.config.TcpKeepalive;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
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

    public KeepaliveOptions {
        requireNonNull(idle, "idle");
        requireNonNull(interval, "interval");
        requireNonNull(count, "count");
    }

    /** Sets keepalive on the connections the listener accepts (the client side). */
    public ServerBootstrap applyToChildren(ServerBootstrap bootstrap, TcpKeepalive keepalive) {
        bootstrap.childOption(ChannelOption.SO_KEEPALIVE, keepalive.enabled());
        if (keepalive.enabled()) {
            bootstrap
                    .childOption(idle, keepalive.idleSeconds())
                    .childOption(interval, keepalive.intervalSeconds())
                    .childOption(count, keepalive.count());
        }
        return bootstrap;
    }

    /** Sets keepalive on the connections the bootstrap opens (the backend side). */
    public Bootstrap applyTo(Bootstrap bootstrap, TcpKeepalive keepalive) {
        bootstrap.option(ChannelOption.SO_KEEPALIVE, keepalive.enabled());
        if (keepalive.enabled()) {
            bootstrap
                    .option(idle, keepalive.idleSeconds())
                    .option(interval, keepalive.intervalSeconds())
                    .option(count, keepalive.count());
        }
        return bootstrap;
    }
}
