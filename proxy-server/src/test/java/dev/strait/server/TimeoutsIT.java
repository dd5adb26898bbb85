package dev.strait.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.server.support.AcceptQueue;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Transports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The idle, half-close and lifetime timeouts over real loopback sockets, on every transport this machine runs: each
 * fires within a stated tolerance of wall-clock time (the timer logic itself is tested on a controlled clock in
 * {@code IdleTimeoutHandlerTest} and {@code RelayHandlerTest}), and with the defaults a quiet connection stays open.
 *
 * <p>The connect timeout against a backend that never answers is not tested here: a loopback connect cannot be made to
 * hang reliably (Linux completes the handshake, or refuses it, even when a listener's backlog is full). {@code
 * BlackHoleIT} tests it with SYNs dropped by iptables in a private network namespace.
 */
class TimeoutsIT {
    // Long enough that a thread the loaded machine wakes late (hundreds of ms) cannot pass for a fired timer or
    // make a busy connection look idle; the checks below are ratios of these.
    private static final Duration SHORT = Duration.ofSeconds(1);
    private static final Duration LIFETIME = Duration.ofMillis(1500);
    /** A timer never fires early; 50ms of slack for where the measurement starts. */
    private static final long EARLY_SLACK_MILLIS = 50;
    /** Generous for a loaded CI machine, yet far below "never". */
    private static final long LATEST_MILLIS = 5000;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    static Stream<TransportKind> epollOnly() {
        return Transports.available().filter(t -> t == TransportKind.EPOLL);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesASilentConnectionAfterTheIdleTimeout(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(TimeoutsIT::echoUntilCut);
                RunningProxy proxy =
                        start(transport, backend, timeouts(SHORT, Duration.ZERO, Duration.ZERO, Duration.ZERO));
                Socket client = proxy.connect()) {
            assertEchoes(client, "hello");
            long quietSince = System.nanoTime();

            client.setSoTimeout(5000);
            assertThat(client.getInputStream().read()).as("end of stream").isEqualTo(-1);

            assertThat(millisSince(quietSince))
                    .as("idle %s closes a silent connection not before it and within %dms", SHORT, LATEST_MILLIS)
                    .isBetween(SHORT.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    /**
     * Both peers write 16 KiB and neither reads, with small receive buffers and water marks, so bytes are stuck in
     * Strait's write buffers both ways: the idle timeout still closes both sides, and what was stuck is released.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void closesBothSidesAtTheIdleTimeoutWhileBytesAreStuckBothWays(TransportKind transport) throws Exception {
        CompletableFuture<Socket> backendSocket = new CompletableFuture<>();
        byte[] chunk = new byte[16 * 1024];
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    socket.getOutputStream().write(chunk);
                    backendSocket.complete(socket); // and never reads
                });
                RunningProxy proxy = RunningProxy.start(
                        transport,
                        timeouts(SHORT, Duration.ZERO, Duration.ZERO, Duration.ZERO),
                        new WaterMark(1024, 2048),
                        backend.address())) {
            Socket client = new Socket();
            client.setReceiveBufferSize(4096);
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 5000);
            try (client;
                    Socket atBackend = backendSocket.get(10, TimeUnit.SECONDS)) {
                client.getOutputStream().write(chunk); // and never reads
                long quietSince = System.nanoTime();

                await().atMost(Duration.ofMillis(LATEST_MILLIS))
                        .until(() -> proxy.server().connections().size() == 0);
                assertThat(millisSince(quietSince))
                        .as("idle %s closes the stuck connection not before it and within %dms", SHORT, LATEST_MILLIS)
                        .isBetween(SHORT.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
                client.setSoTimeout(5000);
                atBackend.setSoTimeout(5000);
                assertThat(Clients.ending(client.getInputStream()))
                        .as("the client's side ends")
                        .isNotEqualTo(Clients.Ending.OPEN);
                assertThat(Clients.ending(atBackend.getInputStream()))
                        .as("the backend's side ends too, though it never took what was stuck towards it")
                        .isNotEqualTo(Clients.Ending.OPEN);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void keepsAConnectionWithTrafficEvery100msOpenPastTheIdleTimeout(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(TimeoutsIT::echoUntilCut);
                RunningProxy proxy =
                        start(transport, backend, timeouts(SHORT, Duration.ZERO, Duration.ZERO, Duration.ZERO));
                Socket client = proxy.connect()) {
            assertEchoes(client, "hello");
            OutputStream out = client.getOutputStream();
            InputStream in = client.getInputStream();
            long started = System.nanoTime();
            int ticks = 0;
            ScheduledFuture<?> sending = pool.scheduleAtFixedRate(
                    () -> {
                        try {
                            out.write('.');
                        } catch (IOException e) {
                            throw new IllegalStateException(e); // stops the ticks; the read below times out
                        }
                    },
                    100,
                    100,
                    TimeUnit.MILLISECONDS);
            try {
                client.setSoTimeout(2000);
                while (millisSince(started) < 4 * SHORT.toMillis()) {
                    assertThat(in.read()).as("echo of tick %d", ticks).isEqualTo('.');
                    ticks++;
                }
            } finally {
                sending.cancel(false);
            }

            assertThat(ticks)
                    .as("ticks echoed in 4 idle timeouts, one per 100ms")
                    .isGreaterThanOrEqualTo(8);
            assertEchoes(client, "still open after four times the idle timeout");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void keepsAQuietConnectionOpenWithTheDefaultTimeouts(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(TimeoutsIT::echoUntilCut);
                RunningProxy proxy = start(transport, backend, Timeouts.DEFAULTS);
                Socket client = proxy.connect()) {
            assertEchoes(client, "hello");

            client.setSoTimeout(2000);
            assertThatThrownBy(() -> client.getInputStream().read())
                    .as("nothing, not even end of stream, during 2s of silence with the default timeouts")
                    .isInstanceOf(SocketTimeoutException.class);

            assertThat(proxy.server().connections().size()).isEqualTo(1);
            client.setSoTimeout(30_000);
            assertEchoes(client, "still relaying after 2s idle");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesThePairWhenTheBackendStaysOpenPastTheClientFinTimeout(TransportKind transport) throws Exception {
        CompletableFuture<Long> backendSawFinAt = new CompletableFuture<>();
        CompletableFuture<Socket> backendSide = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    InputStream in = socket.getInputStream();
                    socket.getOutputStream().write(Bytes.readExactly(in, 5));
                    backendSawFinAt.complete(in.read() == -1 ? System.nanoTime() : -1L);
                    backendSide.complete(socket); // left open: only the proxy's timeout ends it
                });
                RunningProxy proxy =
                        start(transport, backend, timeouts(Duration.ZERO, SHORT, Duration.ZERO, Duration.ZERO));
                Socket client = proxy.connect()) {
            assertEchoes(client, "hello");
            long fin = System.nanoTime();
            client.shutdownOutput();

            client.setSoTimeout(5000);
            assertThat(client.getInputStream().read()).as("end of stream").isEqualTo(-1);
            long cutMillis = millisSince(fin);

            assertThat(cutMillis)
                    .as("clientFin %s closes the half-closed pair not before it and within %dms", SHORT, LATEST_MILLIS)
                    .isBetween(SHORT.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
            long finSeenAt = backendSawFinAt.get(5, TimeUnit.SECONDS);
            assertThat(finSeenAt).as("the backend sees end of stream").isNotEqualTo(-1L);
            assertThat(TimeUnit.NANOSECONDS.toMillis(finSeenAt - fin))
                    .as("the client's FIN reaches the backend at once, within half the timeout, not at it")
                    .isLessThan(SHORT.toMillis() / 2);
            Socket back = backendSide.get(5, TimeUnit.SECONDS);
            await("the backend's connection is closed too")
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> writeFails(back));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesThePairWhenTheClientStaysOpenPastTheServerFinTimeout(TransportKind transport) throws Exception {
        CompletableFuture<long[]> backendSaw = new CompletableFuture<>(); // FIN sent, end seen, last read
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        socket.getOutputStream().write("bye".getBytes(US_ASCII));
                        long fin = System.nanoTime();
                        socket.shutdownOutput();
                        int read = socket.getInputStream().read(); // blocks until the proxy ends the pair
                        backendSaw.complete(new long[] {fin, System.nanoTime(), read});
                    }
                });
                RunningProxy proxy =
                        start(transport, backend, timeouts(Duration.ZERO, Duration.ZERO, SHORT, Duration.ZERO));
                Socket client = proxy.connect()) {
            client.setSoTimeout(5000);
            assertThat(new String(client.getInputStream().readAllBytes(), US_ASCII))
                    .isEqualTo("bye");
            long clientEndAt = System.nanoTime(); // the client keeps its side open and sends nothing

            long[] saw = backendSaw.get(5, TimeUnit.SECONDS);
            assertThat(saw[2]).as("the backend sees end of stream").isEqualTo(-1);
            assertThat(TimeUnit.NANOSECONDS.toMillis(saw[1] - saw[0]))
                    .as("serverFin %s closes the half-closed pair not before it and within %dms", SHORT, LATEST_MILLIS)
                    .isBetween(SHORT.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
            assertThat(TimeUnit.NANOSECONDS.toMillis(clientEndAt - saw[0]))
                    .as("the backend's FIN reaches the client at once, within half the timeout, not at it")
                    .isLessThan(SHORT.toMillis() / 2);
            await("the client's connection is closed too")
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> writeFails(client));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    /**
     * Epoll only: epoll always reports a reset on a socket it is not reading (EPOLLERR/EPOLLHUP stay armed); NIO and
     * io_uring stop watching a backend they are not reading (backpressure), so they learn of the reset only when the
     * client drains — their limit, documented in docs/configuration.md.
     */
    @ParameterizedTest
    @MethodSource("epollOnly")
    void closesAClientThatNeverReadsAfterTheBackendResetsWithinTheServerFinTimeout(TransportKind transport)
            throws Exception {
        CompletableFuture<Socket> backendSide = new CompletableFuture<>();
        AtomicLong pushed = new AtomicLong();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    backendSide.complete(socket);
                    Bytes.readExactly(socket.getInputStream(), 1);
                    byte[] chunk = new byte[64 * 1024];
                    try {
                        for (int i = 0; i < 1024; i++) { // 64 MiB at most; blocks once every buffer is full
                            socket.getOutputStream().write(chunk);
                            pushed.addAndGet(chunk.length);
                        }
                    } catch (IOException expected) {
                        // the test resets this socket while the write is blocked
                    }
                });
                RunningProxy proxy =
                        start(transport, backend, timeouts(Duration.ZERO, Duration.ZERO, SHORT, Duration.ZERO));
                Socket client = proxy.connect()) {
            client.getOutputStream().write(1); // and never reads
            long[] last = {-1};
            await("backpressure stalls the backend: the proxy holds data the client does not take")
                    .atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        long now = pushed.get();
                        boolean stalled = now > 0 && now == last[0];
                        last[0] = now;
                        return stalled;
                    });
            Socket reset = backendSide.get(5, TimeUnit.SECONDS);
            reset.setSoLinger(true, 0);
            reset.close(); // a reset: the proxy must still close a client that never drains
            await("serverFin bounds how long the proxy flushes to a client that takes nothing")
                    .atMost(Duration.ofMillis(LATEST_MILLIS + 2000))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    /** Whether or not the client sent bytes first, it gets a FIN (docs/configuration.md, Teardown semantics). */
    @ParameterizedTest
    @MethodSource("transports")
    void closesTheClientWithAFinWhenTheBackendConnectTimesOut(TransportKind transport) throws Exception {
        for (boolean clientSpeaksFirst : new boolean[] {true, false}) {
            try (ServerSocket stalled = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                List<Socket> fillers = AcceptQueue.fill(stalled);
                try (RunningProxy proxy = RunningProxy.start(
                                transport,
                                RunningProxy.route(
                                        new Timeouts(SHORT, Duration.ZERO),
                                        WaterMark.DEFAULT,
                                        "127.0.0.1:" + stalled.getLocalPort()));
                        Socket client = proxy.connect()) {
                    if (clientSpeaksFirst) {
                        client.getOutputStream().write("hello, anyone there?".getBytes(StandardCharsets.UTF_8));
                    }
                    long start = System.nanoTime();
                    client.setSoTimeout((int) LATEST_MILLIS);
                    assertThat(Clients.ending(client.getInputStream()))
                            .as(
                                    "a client that %s is closed with a FIN once the backend connect times out",
                                    clientSpeaksFirst ? "sent bytes" : "sent nothing")
                            .isEqualTo(Clients.Ending.FIN);
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                            .as(
                                    "connect timeout %s closes the client not before it and within %dms",
                                    SHORT, LATEST_MILLIS)
                            .isBetween(SHORT.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
                    assertThat(proxy.server().routeMetrics().get("test").backendConnectFailuresTotal())
                            .isEqualTo(1);
                } finally {
                    for (Socket filler : fillers) {
                        filler.close();
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesAClientThatSentBytesWithAFinWhenTheBackendRefuses(TransportKind transport) throws Exception {
        int closedPort;
        try (ServerSocket gone = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = gone.getLocalPort();
        }
        try (RunningProxy proxy = RunningProxy.start(transport, "127.0.0.1:" + closedPort);
                Socket client = proxy.connect()) {
            client.getOutputStream().write("hello, anyone there?".getBytes(StandardCharsets.UTF_8));
            assertThat(Clients.ending(client.getInputStream())).isEqualTo(Clients.Ending.FIN);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void cutsABusyConnectionAtItsMaxLifetime(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(TimeoutsIT::echoUntilCut);
                RunningProxy proxy =
                        start(transport, backend, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO, LIFETIME))) {
            long started = System.nanoTime(); // before the connect, so never after the proxy's timer starts
            long echoed = 0;
            long lastBytesAt = started;
            Future<?> writer;
            try (Socket client = proxy.connect()) {
                OutputStream out = client.getOutputStream();
                writer = pool.submit(() -> {
                    byte[] chunk = new byte[16 * 1024];
                    Arrays.fill(chunk, (byte) 'x');
                    try {
                        while (true) {
                            out.write(chunk);
                        }
                    } catch (IOException cut) {
                        return null; // the proxy closed the connection, as it should
                    }
                });
                client.setSoTimeout(5000);
                byte[] buffer = new byte[64 * 1024];
                try {
                    for (int n; (n = client.getInputStream().read(buffer)) >= 0; ) {
                        echoed += n;
                        lastBytesAt = System.nanoTime();
                    }
                } catch (SocketException reset) {
                    // closed with our bytes unread on the proxy's side: a reset rather than a FIN
                }
            }
            long cutMillis = millisSince(started);
            writer.get(5, TimeUnit.SECONDS);

            assertThat(cutMillis)
                    .as("maxLifetime %s cuts a busy connection not before it and within %dms", LIFETIME, LATEST_MILLIS)
                    .isBetween(LIFETIME.toMillis() - EARLY_SLACK_MILLIS, LATEST_MILLIS);
            assertThat(echoed).as("bytes echoed before the cut").isGreaterThan(64 * 1024);
            assertThat(TimeUnit.NANOSECONDS.toMillis(lastBytesAt - started))
                    .as("echoed bytes still arrived after 70%% of maxLifetime: the connection was busy up to the cut")
                    .isGreaterThanOrEqualTo(LIFETIME.toMillis() * 7 / 10);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    private static Timeouts timeouts(Duration idle, Duration clientFin, Duration serverFin, Duration maxLifetime) {
        return new Timeouts(Timeouts.DEFAULT_CONNECT, idle, clientFin, serverFin, Duration.ZERO, maxLifetime);
    }

    private static RunningProxy start(TransportKind transport, LoopbackBackend backend, Timeouts timeouts)
            throws StartException {
        return RunningProxy.start(transport, timeouts, WaterMark.DEFAULT, backend.address());
    }

    /** An echo backend for which a connection cut by the proxy is the expected outcome, not a failure. */
    private static void echoUntilCut(Socket socket) throws IOException {
        try (socket) {
            socket.getInputStream().transferTo(socket.getOutputStream());
        } catch (SocketException cut) {
            // the proxy closed the pair mid-stream
        }
    }

    private static void assertEchoes(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(US_ASCII));
        assertThat(new String(Bytes.readExactly(socket.getInputStream(), text.length()), US_ASCII))
                .isEqualTo(text);
    }

    /** Whether the peer has closed: the first write after a close draws a reset, a later one fails. */
    private static boolean writeFails(Socket socket) {
        try {
            socket.getOutputStream().write(0);
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static long millisSince(long nanoTime) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanoTime);
    }
}
