package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.Cidr;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.SniTarget;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slowloris and idle floods: 2,000 clients connect and never send, or send the first bytes of what a pre-relay stage
 * waits for (a PROXY header, a TLS ClientHello) one byte per second. New clients must keep being served about as fast
 * as before the flood (connect + echo, median within a small factor of a direct connection to the backend); with
 * {@code timeouts.idle} set every idle flood connection is closed at it, and every trickling one is closed at its
 * stage's deadline ({@code proxyProtocol.headerTimeout}, {@code timeouts.clientHello}) without a byte reaching a
 * backend.
 */
class SlowlorisIT {
    private static final int FLOOD = 2_000;
    private static final int SAMPLES = 50;
    /** The flood may slow new clients by this factor over a direct connection at most (median); generous on purpose. */
    private static final int FACTOR = 10;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    /** Nothing: the flood connections connect and never send. */
    private static final byte[] SILENT = new byte[0];

    /** The start of a PROXY protocol v1 header, never finished. */
    private static final byte[] PROXY_V1_START = "PROXY TCP4 192.0.2.1 ".getBytes(StandardCharsets.US_ASCII);

    /** A TLS record header announcing a 512-byte handshake record, then the ClientHello's type and length. */
    private static final byte[] CLIENT_HELLO_START = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc};

    /** A complete PROXY v1 header, sent by the clients that must still be served during a header flood. */
    private static final byte[] PROXY_V1_HEADER =
            "PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n".getBytes(StandardCharsets.US_ASCII);

    @Test
    void newClientsAreServedPromptlyWhileTwoThousandConnectionsSendNothing() throws Exception {
        try (EchoBackend backend = new EchoBackend();
                Flood flood = new Flood()) {
            strait.start(TransportKind.AUTO, TestRoutes.route("test").backends(backend.address()));
            int port = strait.address().getPort();
            long[] before = medianConnectAndEchoMicros(backend.port(), port, new byte[0]);

            flood.open(port, FLOOD);
            await("the proxy holds every flood connection, each with its backend")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> backend.open() >= FLOOD);
            long[] during = medianConnectAndEchoMicros(backend.port(), port, new byte[0]);
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
            flood.open(port, FLOOD);
            long[] closes = flood.awaitAllClosed(Duration.ofSeconds(120), SILENT);
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

    @Test
    void aPartialProxyHeaderTrickledOneBytePerSecondClosesAtTheHeaderTimeout() throws Exception {
        Duration headerTimeout = Duration.ofSeconds(5);
        try (EchoBackend backend = new EchoBackend();
                Flood flood = new Flood()) {
            strait.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends(backend.address())
                            .proxyProtocol(new ProxyProtocol(
                                    true,
                                    List.of(Cidr.parse("proxyProtocol.trustedSources", "127.0.0.0/8")),
                                    headerTimeout,
                                    ProxyHeaderVersion.OFF)));
            assertStageFloodClosesAtItsDeadline(
                    backend, flood, headerTimeout, PROXY_V1_START, PROXY_V1_HEADER, "proxyProtocol.headerTimeout");
        }
    }

    @Test
    void aPartialClientHelloTrickledOneBytePerSecondClosesAtTheClientHelloTimeout() throws Exception {
        Duration helloTimeout = Duration.ofSeconds(5);
        try (EchoBackend backend = new EchoBackend();
                EchoBackend named = new EchoBackend();
                Flood flood = new Flood()) {
            strait.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends(backend.address())
                            .sni(List.of(new SniTarget(
                                    List.of("db1.test"),
                                    List.of(BackendSpec.of(new HostAndPort("127.0.0.1", named.port()))),
                                    BalanceAlgorithm.ROUND_ROBIN,
                                    Optional.empty(),
                                    PassiveCheck.DISABLED,
                                    0)))
                            .timeouts(Timeouts.DEFAULTS.withSni(helloTimeout, Duration.ZERO)));
            // New clients during the flood send plain bytes: not TLS, so the stage sends them to the default backend.
            assertStageFloodClosesAtItsDeadline(
                    backend, flood, helloTimeout, CLIENT_HELLO_START, new byte[0], "timeouts.clientHello");
            assertThat(named.accepted()).as("connections the named target got").isZero();
        }
    }

    /**
     * Opens the flood, each connection trickling {@code drip} one byte per second; checks that new clients (sending
     * {@code prefix} first) are served promptly meanwhile, that every flood connection closes at {@code deadline}
     * from its connect (not before 0.9x; by 2x + 5 s on a busy machine) and that none reached the backend.
     */
    private void assertStageFloodClosesAtItsDeadline(
            EchoBackend backend, Flood flood, Duration deadline, byte[] drip, byte[] prefix, String key)
            throws Exception {
        int port = strait.address().getPort();
        long[] before = medianConnectAndEchoMicros(backend.port(), port, prefix);
        int servedBefore = backend.accepted();
        flood.open(port, FLOOD);
        flood.drip(drip);
        long[] during = medianConnectAndEchoMicros(backend.port(), port, prefix);
        int servedDuring = backend.accepted() - servedBefore;
        long[] closes = flood.awaitAllClosed(deadline.multipliedBy(2).plusSeconds(60), drip);
        long[] lifetimes = IntStream.range(0, FLOOD)
                .mapToLong(flood::lifetimeMillis)
                .sorted()
                .toArray();
        System.out.printf(
                "%s %s, %d connections trickling %d bytes at 1 byte/s: closed after min %d ms, median %d ms, max %d"
                        + " ms; connect+echo median before: direct %d us, Strait %d us; during: direct %d us, Strait"
                        + " %d us%n",
                key,
                deadline,
                FLOOD,
                drip.length,
                lifetimes[0],
                lifetimes[FLOOD / 2],
                lifetimes[FLOOD - 1],
                before[0],
                before[1],
                during[0],
                during[1]);
        assertThat(closes).hasSize(FLOOD);
        assertThat(during[1])
                .as(
                        "median connect+echo through Strait during the flood (us), vs direct %d us at the same time",
                        during[0])
                .isLessThanOrEqualTo(FACTOR * during[0] + 2_000);
        assertThat(lifetimes[0])
                .as("no flood connection closed before %s (ms)", key)
                .isGreaterThanOrEqualTo(deadline.toMillis() * 9 / 10);
        assertThat(lifetimes[FLOOD - 1])
                .as("every flood connection closed at %s, with slack for a busy machine (ms)", key)
                .isLessThanOrEqualTo(2 * deadline.toMillis() + 5_000);
        assertThat(backend.accepted() - servedBefore)
                .as(
                        "backend connections: only the %d samples direct and the %d through Strait, no flood connection",
                        SAMPLES, SAMPLES)
                .isEqualTo(servedDuring)
                .isEqualTo(2 * SAMPLES);
        await("Strait tracks no connection once the flood is closed")
                .atMost(Duration.ofSeconds(30))
                .until(() -> strait.server().liveConnections().isEmpty());
    }

    /**
     * The medians, over {@value #SAMPLES} fresh connections each, of connect + a 16-byte echo directly to the backend
     * and through the proxy (after {@code proxyPrefix}), in microseconds. The two alternate, so both see the same load on a busy machine.
     */
    private static long[] medianConnectAndEchoMicros(int directPort, int proxyPort, byte[] proxyPrefix)
            throws IOException {
        long[] direct = new long[SAMPLES];
        long[] proxied = new long[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            direct[i] = connectAndEchoMicros(directPort, i, new byte[0]);
            proxied[i] = connectAndEchoMicros(proxyPort, i, proxyPrefix);
        }
        Arrays.sort(direct);
        Arrays.sort(proxied);
        return new long[] {direct[SAMPLES / 2], proxied[SAMPLES / 2]};
    }

    private static long connectAndEchoMicros(int port, int i, byte[] prefix) throws IOException {
        long start = System.nanoTime();
        try (Socket client = Clients.connect(port)) {
            client.setTcpNoDelay(true);
            client.getOutputStream().write(prefix);
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

        private int dripped;
        private long nextDrip;

        void open(int port, int count) throws IOException {
            InetSocketAddress proxy = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            for (int i = 0; i < count; i++) {
                SocketChannel channel = SocketChannel.open(proxy);
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

        /**
         * Sends the next byte of {@code drip} on every flood connection still open, once a second at most: call it
         * often. Nothing once {@code drip} is used up.
         */
        void drip(byte[] drip) {
            long now = System.nanoTime();
            if (dripped >= drip.length || now < nextDrip) {
                return;
            }
            nextDrip = now + TimeUnit.SECONDS.toNanos(1);
            ByteBuffer one = ByteBuffer.allocate(1);
            for (int i = 0; i < channels.size(); i++) {
                if (closedAt.containsKey(i)) {
                    continue;
                }
                one.clear();
                one.put(drip[dripped]).flip();
                try {
                    channels.get(i).write(one);
                } catch (IOException closedMeanwhile) {
                    // the proxy closed it: the selector notes when
                }
            }
            dripped++;
        }

        /**
         * Waits until the proxy has closed every flood connection, trickling {@code drip} meanwhile; returns each one's
         * close time (nanoTime).
         */
        long[] awaitAllClosed(Duration within, byte[] drip) throws IOException {
            long deadline = System.nanoTime() + within.toNanos();
            while (closedAt.size() < channels.size()) {
                drip(drip);
                long wait = Math.min(100, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
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
        private final AtomicInteger accepted = new AtomicInteger();
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

        /** Connections accepted since it started. */
        int accepted() {
            return accepted.get();
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
                accepted.incrementAndGet();
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
