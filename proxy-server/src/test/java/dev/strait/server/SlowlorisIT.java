package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.Clients;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestRoutes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slowloris and idle floods: 2,000 clients connect and never send. New clients must keep being served about as fast
 * as before the flood (connect + echo, median within a small factor of a direct connection to the backend), and with
 * {@code timeouts.idle} set every flood connection is closed at it.
 *
 * <p>Extension point: a flood connection sends what {@link Trickle} says. Today the only pre-relay input is none
 * ({@link Trickle#SILENT}); when the PROXY-header and ClientHello stages land, add a {@code Trickle} that sends their
 * first bytes one per second and a test per stage asserting it closes at that stage's deadline.
 */
class SlowlorisIT {
    private static final int FLOOD = 2_000;
    private static final int SAMPLES = 50;
    /** The flood may slow new clients by this factor over a direct connection at most (median); generous on purpose. */
    private static final int FACTOR = 10;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    /** What each flood connection sends, and when. */
    interface Trickle {
        /** Connects and sends nothing, ever. */
        Trickle SILENT = channel -> {};

        /** Called once, right after the connection is made. */
        void start(SocketChannel channel) throws IOException;
    }

    @Test
    void newClientsAreServedPromptlyWhileTwoThousandConnectionsSendNothing() throws Exception {
        try (EchoBackend backend = new EchoBackend();
                Flood flood = new Flood()) {
            strait.start(TransportKind.AUTO, TestRoutes.route("test").backends(backend.address()));
            int port = strait.address().getPort();
            long[] before = medianConnectAndEchoMicros(backend.port(), port);

            flood.open(port, FLOOD, Trickle.SILENT);
            await("the proxy holds every flood connection, each with its backend")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> backend.open() >= FLOOD);
            long[] during = medianConnectAndEchoMicros(backend.port(), port);
            System.out.printf(
                    "connect+echo median: before a %d-connection idle flood direct %d us, through Strait %d us;"
                            + " during it direct %d us, through Strait %d us%n",
                    FLOOD, before[0], before[1], during[0], during[1]);
            assertThat(during[1])
                    .as(
                            "median connect+echo through Strait during the flood (us), vs direct %d us at the same time",
                            during[0])
                    .isLessThanOrEqualTo(FACTOR * during[0] + 2_000);
            assertThat(flood.closed())
                    .as("flood connections closed with no idle timeout")
                    .isZero();
        }
    }

    @Test
    void everyIdleFloodConnectionClosesAtTheIdleTimeout() throws Exception {
        Duration idle = Duration.ofSeconds(5);
        try (EchoBackend backend = new EchoBackend();
                Flood flood = new Flood()) {
            strait.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends(backend.address())
                            .timeouts(new Timeouts(Timeouts.DEFAULT_CONNECT, idle)));
            int port = strait.address().getPort();
            flood.open(port, FLOOD, Trickle.SILENT);
            long[] closes = flood.awaitAllClosed(Duration.ofSeconds(120));
            long[] lifetimes = IntStream.range(0, FLOOD)
                    .mapToLong(flood::lifetimeMillis)
                    .sorted()
                    .toArray();
            long lastClose = Arrays.stream(closes).max().orElseThrow();
            long afterLastRelayed = TimeUnit.NANOSECONDS.toMillis(lastClose - backend.lastConnected());
            System.out.printf(
                    "idle %s: %d flood connections closed after min %d ms, median %d ms, max %d ms from their"
                            + " connect; the last close %d ms after the last backend connect%n",
                    idle, FLOOD, lifetimes[0], lifetimes[FLOOD / 2], lifetimes[FLOOD - 1], afterLastRelayed);
            assertThat(lifetimes[0])
                    .as("no flood connection closed before the idle timeout (ms)")
                    .isGreaterThanOrEqualTo(idle.toMillis() * 9 / 10);
            assertThat(afterLastRelayed)
                    .as("every flood connection closed within one idle timeout (plus slack for a busy machine) of"
                            + " the last one being relayed (ms); the clock starts at Strait's accept, which lags the"
                            + " client's connect under load")
                    .isLessThanOrEqualTo(2 * idle.toMillis() + 5_000);
            await("the backend connections are closed too")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> backend.open() == 0);
            assertThat(strait.server().liveConnections())
                    .as("connections Strait still tracks")
                    .isEmpty();
            try (Socket fresh = Clients.connect(port)) {
                Clients.assertEchoes(fresh, "still served");
            }
        }
    }

    /**
     * The medians, over {@value #SAMPLES} fresh connections each, of connect + a 16-byte echo directly to the backend
     * and through the proxy, in microseconds. The two alternate, so both see the same load on a busy machine.
     */
    private static long[] medianConnectAndEchoMicros(int directPort, int proxyPort) throws IOException {
        long[] direct = new long[SAMPLES];
        long[] proxied = new long[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            direct[i] = connectAndEchoMicros(directPort, i);
            proxied[i] = connectAndEchoMicros(proxyPort, i);
        }
        Arrays.sort(direct);
        Arrays.sort(proxied);
        return new long[] {direct[SAMPLES / 2], proxied[SAMPLES / 2]};
    }

    private static long connectAndEchoMicros(int port, int i) throws IOException {
        long start = System.nanoTime();
        try (Socket client = Clients.connect(port)) {
            client.setTcpNoDelay(true);
            Clients.assertEchoes(client, "0123456789abcde" + (i % 10));
        }
        return TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
    }

    /**
     * Many idle client connections watched by one selector, each with the time it was opened and the time the proxy
     * closed it. Closes are collected while the flood is still opening too, so that each is timed when it happens.
     */
    private static final class Flood implements AutoCloseable {
        private final Selector selector = Selector.open();
        private final List<SocketChannel> channels = new ArrayList<>();
        private final List<Long> openedAt = new ArrayList<>();
        private final Map<Integer, Long> closedAt = new HashMap<>();
        private final ByteBuffer sink = ByteBuffer.allocate(1024);

        Flood() throws IOException {}

        void open(int port, int count, Trickle trickle) throws IOException {
            InetSocketAddress proxy = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            for (int i = 0; i < count; i++) {
                SocketChannel channel = SocketChannel.open(proxy);
                trickle.start(channel);
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ, channels.size());
                channels.add(channel);
                openedAt.add(System.nanoTime());
                collect(0);
            }
        }

        /** How many flood connections the proxy has closed so far. */
        int closed() throws IOException {
            collect(0);
            return closedAt.size();
        }

        /** Waits until the proxy has closed every flood connection; returns each one's close time (nanoTime). */
        long[] awaitAllClosed(Duration within) throws IOException {
            long deadline = System.nanoTime() + within.toNanos();
            while (closedAt.size() < channels.size()) {
                long wait = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                assertThat(wait)
                        .as(
                                "%d of %d flood connections still open after %s",
                                channels.size() - closedAt.size(), channels.size(), within)
                        .isPositive();
                collect(wait);
            }
            return IntStream.range(0, channels.size()).mapToLong(closedAt::get).toArray();
        }

        /** Lifetime of connection {@code i}, from its connect to its close, in milliseconds. */
        long lifetimeMillis(int i) {
            return TimeUnit.NANOSECONDS.toMillis(closedAt.get(i) - openedAt.get(i));
        }

        /** Selects (waiting up to {@code millis}, 0: not at all) and notes the time of each close it finds. */
        private void collect(long millis) throws IOException {
            if (millis == 0) {
                selector.selectNow();
            } else {
                selector.select(millis);
            }
            long now = System.nanoTime();
            for (SelectionKey key : selector.selectedKeys()) {
                int i = (Integer) key.attachment();
                sink.clear();
                int read;
                try {
                    read = channels.get(i).read(sink);
                } catch (IOException reset) {
                    read = -1;
                }
                assertThat(read).as("flood connection %d received bytes", i).isLessThanOrEqualTo(0);
                if (read < 0) {
                    key.cancel();
                    closedAt.put(i, now);
                }
            }
            selector.selectedKeys().clear();
        }

        @Override
        public void close() throws IOException {
            for (SocketChannel channel : channels) {
                channel.close();
            }
            selector.close();
        }
    }

    /** An echo server on one NIO event loop, so thousands of idle backend connections cost no thread each. */
    private static final class EchoBackend implements AutoCloseable {
        private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        private final AtomicInteger open = new AtomicInteger();
        private volatile long lastConnected;
        private final Channel server;

        EchoBackend() throws InterruptedException {
            server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new Echo())
                    .bind(InetAddress.getLoopbackAddress(), 0)
                    .sync()
                    .channel();
        }

        int port() {
            return ((InetSocketAddress) server.localAddress()).getPort();
        }

        String address() {
            return "127.0.0.1:" + port();
        }

        int open() {
            return open.get();
        }

        /** When the proxy last connected (nanoTime): every flood connection is relayed by then. */
        long lastConnected() {
            return lastConnected;
        }

        @Override
        public void close() {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }

        @ChannelHandler.Sharable
        private final class Echo extends ChannelInboundHandlerAdapter {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                lastConnected = System.nanoTime();
                open.incrementAndGet();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                open.decrementAndGet();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.write((ByteBuf) msg);
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                ctx.flush();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close(); // a reset from the proxy's side is expected in these tests
            }
        }
    }
}
