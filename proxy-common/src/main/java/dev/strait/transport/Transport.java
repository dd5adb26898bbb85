package dev.strait.transport;

import static java.util.Objects.requireNonNull;

import dev.strait.config.TransportKind;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A Netty transport: the I/O handler for its event loops and the channel classes that go with it.
 *
 * @param name how logs and metrics name it: {@code epoll}, {@code io_uring} or {@code nio}
 * @param ioHandlerFactory makes one I/O handler factory per event loop group
 * @param serverChannel the listener channel class
 * @param socketChannel the client channel class used for backend connections
 * @param datagramChannel the UDP channel class used by the DNS resolver
 */
public record Transport(
        String name,
        Supplier<IoHandlerFactory> ioHandlerFactory,
        Class<? extends ServerChannel> serverChannel,
        Class<? extends SocketChannel> socketChannel,
        Class<? extends DatagramChannel> datagramChannel) {

    public static final Transport NIO = new Transport(
            "nio",
            NioIoHandler::newFactory,
            NioServerSocketChannel.class,
            NioSocketChannel.class,
            NioDatagramChannel.class);

    public static final Transport EPOLL = new Transport(
            "epoll",
            KeepRegisteredEpoll::newFactory,
            EpollServerSocketChannel.class,
            EpollSocketChannel.class,
            EpollDatagramChannel.class);

    public static final Transport IO_URING = new Transport(
            "io_uring",
            IoUringIoHandler::newFactory,
            IoUringServerSocketChannel.class,
            IoUringSocketChannel.class,
            IoUringDatagramChannel.class);

    public Transport {
        requireNonNull(name, "name");
        requireNonNull(ioHandlerFactory, "ioHandlerFactory");
        requireNonNull(serverChannel, "serverChannel");
        requireNonNull(socketChannel, "socketChannel");
        requireNonNull(datagramChannel, "datagramChannel");
    }

    /**
     * Picks the transport for a config value. {@code auto} takes epoll where it is available, else NIO; a forced
     * native transport that this machine cannot run falls back to the next best, and {@code fallback} is told why
     * in one line.
     */
    public static Transport select(TransportKind kind, Consumer<String> fallback) {
        return switch (kind) {
            case NIO -> NIO;
            case AUTO -> Epoll.isAvailable() ? EPOLL : NIO;
            case EPOLL -> {
                if (Epoll.isAvailable()) {
                    yield EPOLL;
                }
                fallback.accept(
                        "transport epoll is not available (" + cause(Epoll.unavailabilityCause()) + "); using nio");
                yield NIO;
            }
            case IO_URING -> {
                if (IoUring.isAvailable()) {
                    yield IO_URING;
                }
                Transport next = Epoll.isAvailable() ? EPOLL : NIO;
                fallback.accept("transport io_uring is not available (" + cause(IoUring.unavailabilityCause())
                        + "); using " + next.name());
                yield next;
            }
        };
    }

    /** Whether this transport can run on this machine. */
    public boolean isAvailable() {
        return switch (name) {
            case "epoll" -> Epoll.isAvailable();
            case "io_uring" -> IoUring.isAvailable();
            default -> true;
        };
    }

    /** This transport's options for TCP keepalive's idle time, probe interval and probe count. */
    public KeepaliveOptions keepaliveOptions() {
        return switch (name) {
            case "epoll" -> KeepaliveOptions.EPOLL;
            case "io_uring" -> KeepaliveOptions.IO_URING;
            default -> KeepaliveOptions.NIO;
        };
    }

    /**
     * This transport's TCP_DEFER_ACCEPT option for a listener (seconds), or empty where it has none: epoll and io_uring
     * set it with setsockopt; NIO's server socket cannot take it (the JDK has no such option).
     */
    public Optional<ChannelOption<Integer>> deferAcceptOption() {
        return switch (name) {
            case "epoll" -> Optional.of(EpollChannelOption.TCP_DEFER_ACCEPT);
            case "io_uring" -> Optional.of(IoUringChannelOption.TCP_DEFER_ACCEPT);
            default -> Optional.empty();
        };
    }

    /**
     * Makes backend sockets for a route whose backends are all IPv4 addresses: on epoll an AF_INET socket, which
     * saves the IPV6_V6ONLY setsockopt of Netty's default dual-stack socket and the IPv4-mapped address conversions on
     * each connect; elsewhere the transport's usual channel.
     */
    public ChannelFactory<? extends SocketChannel> ipv4SocketChannelFactory() {
        return name.equals("epoll")
                ? () -> new EpollSocketChannel(SocketProtocolFamily.INET)
                : new ReflectiveChannelFactory<>(socketChannel);
    }

    /** Whether listeners can share a port with SO_REUSEPORT (the native transports), one per event loop. */
    public boolean supportsReusePort() {
        return !name.equals("nio");
    }

    /** A new event loop group of this transport; {@code threads} 0 means Netty's default (two per core). */
    public EventLoopGroup newEventLoopGroup(int threads, String threadPrefix) {
        return new MultiThreadIoEventLoopGroup(
                threads, new DefaultThreadFactory(threadPrefix, true), ioHandlerFactory.get());
    }

    private static String cause(Throwable t) {
        if (t == null) {
            return "unknown cause";
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    @Override
    public String toString() {
        return name;
    }
}
