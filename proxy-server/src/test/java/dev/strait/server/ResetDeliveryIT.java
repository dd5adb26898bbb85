package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.RunningProxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The teardown promise under resets: when one side resets mid-transfer, the other side (reading slowly, so bytes are
 * queued inside Strait) gets exactly the bytes Strait counted from the side that reset, in order, and then a FIN.
 * Every transport and splice mode; many runs with random timing. The seed of each run is in the failure message;
 * {@code -Dstrait.resetRuns=N} changes the number of runs per case (default 8).
 */
class ResetDeliveryIT {
    private static final int RUNS = Integer.getInteger("strait.resetRuns", 8);
    private static final long SEED = Long.getLong("strait.resetSeed", System.nanoTime());
    private static final int CHUNK = 16 * 1024;

    /** Every mode this machine runs; {@code -Dstrait.resetModes=epoll} keeps those whose name contains the text. */
    static Stream<RelayMode> modes() {
        String only = System.getProperty("strait.resetModes", "");
        return RelayMode.available().filter(mode -> mode.toString().contains(only));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void aBackendResetReachesTheClientAsAFinAfterEveryCountedByte(RelayMode mode) throws Exception {
        assertThat(runsNotDeliveredAsCounted(seed -> backendResets(mode, seed)))
                .as("runs where the client did not get what Strait counted, then a FIN")
                .isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void aClientResetReachesTheBackendAsAFinAfterEveryCountedByte(RelayMode mode) throws Exception {
        assertThat(runsNotDeliveredAsCounted(seed -> clientResets(mode, seed)))
                .as("runs where the backend did not get what Strait counted, then a FIN")
                .isEmpty();
    }

    /** One run of a scenario from its seed. */
    @FunctionalInterface
    private interface Scenario {
        Outcome run(long seed) throws Exception;
    }

    private static List<String> runsNotDeliveredAsCounted(Scenario scenario) throws Exception {
        List<String> failures = new ArrayList<>();
        for (int run = 0; run < RUNS; run++) {
            long seed = SEED + run;
            Outcome outcome = scenario.run(seed);
            if (!outcome.deliveredAsCounted()) {
                failures.add("seed " + seed + ": " + outcome);
            }
        }
        return failures;
    }

    /** The backend pushes for a random time, then resets; the client reads 16 KiB at a random, slow pace. */
    private static Outcome backendResets(RelayMode mode, long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        Duration pushFor = Duration.ofMillis(20 + random.nextInt(200));
        long paceNanos = TimeUnit.MICROSECONDS.toNanos(100 + random.nextInt(900));
        CompletableFuture<Void> seen = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    seen.get(10, TimeUnit.SECONDS); // a quick run must not end before the test sees the connection
                    pushThenReset(socket, seed, pushFor);
                });
                RunningProxy proxy = start(mode, backend);
                Socket client = slowReader(proxy.port())) {
            ProxiedConnection connection = liveConnection(proxy);
            seen.complete(null);
            Received got = readSlowly(client.getInputStream(), seed, paceNanos);
            return new Outcome(got, connection.bytesFromBackend());
        }
    }

    /** The client pushes for a random time, then resets; the backend reads 16 KiB at a random, slow pace. */
    private static Outcome clientResets(RelayMode mode, long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        Duration pushFor = Duration.ofMillis(20 + random.nextInt(200));
        long paceNanos = TimeUnit.MICROSECONDS.toNanos(100 + random.nextInt(900));
        CompletableFuture<Received> backendGot = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        backendGot.complete(readSlowly(socket.getInputStream(), seed, paceNanos));
                    }
                });
                RunningProxy proxy = start(mode, backend)) {
            Socket client = new Socket();
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 5000);
            ProxiedConnection connection = liveConnection(proxy);
            pushThenReset(client, seed, pushFor);
            Received got = backendGot.get(60, TimeUnit.SECONDS);
            return new Outcome(got, connection.bytesFromClient());
        }
    }

    /**
     * On io_uring, Netty 4.2.18 can miss a reset that arrives while Strait is not reading that side (backpressure):
     * the connection then stays open until a timeout ends it, which docs/configuration.md tells io_uring users to
     * set. So io_uring runs with {@code timeouts.idle} of 1s, and must still deliver every counted byte, then a FIN.
     */
    private static RunningProxy start(RelayMode mode, LoopbackBackend backend) throws Exception {
        Timeouts timeouts = mode.transport() == TransportKind.IO_URING
                ? new Timeouts(
                        Timeouts.DEFAULT_CONNECT,
                        Duration.ofSeconds(1),
                        Duration.ZERO,
                        Duration.ZERO,
                        Duration.ZERO,
                        Duration.ZERO)
                : Timeouts.DEFAULTS;
        return RunningProxy.start(mode, timeouts, WaterMark.DEFAULT, backend.address());
    }

    private static Socket slowReader(int port) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(64 * 1024); // before connect, so the window stays small
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static ProxiedConnection liveConnection(RunningProxy proxy) {
        await().atMost(Duration.ofSeconds(10))
                .until(() -> proxy.server().connections().size() == 1);
        return proxy.server().connections().snapshot().get(0);
    }

    /** Writes the seed's byte stream for the given time (or until a write fails), then closes with a reset. */
    private static void pushThenReset(Socket socket, long seed, Duration pushFor) throws IOException {
        ByteStream stream = new ByteStream(seed);
        OutputStream out = socket.getOutputStream();
        byte[] chunk = new byte[CHUNK];
        long until = System.nanoTime() + pushFor.toNanos();
        try {
            while (System.nanoTime() - until < 0) {
                stream.next(chunk);
                out.write(chunk);
            }
        } catch (SocketException closedEarly) {
            // the proxy closed first: the run's outcome shows it
        }
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /**
     * Reads 16 KiB per pace interval until the stream ends or fails, checking each byte against the seed's stream.
     * The pause only paces the reader (a slow consumer is the point); nothing waits on a condition here.
     */
    private static Received readSlowly(InputStream in, long seed, long paceNanos) {
        ByteStream expected = new ByteStream(seed);
        byte[] buffer = new byte[CHUNK];
        byte[] want = new byte[CHUNK];
        long count = 0;
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                expected.next(want, n);
                for (int i = 0; i < n; i++) {
                    if (buffer[i] != want[i]) {
                        return new Received(count + i, Ending.CORRUPT);
                    }
                }
                count += n;
                LockSupport.parkNanos(paceNanos);
            }
            return new Received(count, Ending.FIN);
        } catch (SocketTimeoutException e) {
            return new Received(count, Ending.STILL_OPEN);
        } catch (IOException e) {
            return new Received(count, Ending.RESET);
        }
    }

    private enum Ending {
        FIN,
        RESET,
        STILL_OPEN,
        CORRUPT
    }

    private record Received(long bytes, Ending ending) {}

    private record Outcome(Received received, long counted) {
        boolean deliveredAsCounted() {
            return received.ending() == Ending.FIN && received.bytes() == counted;
        }

        @Override
        public String toString() {
            return "received " + received.bytes() + " bytes then " + received.ending() + "; Strait counted " + counted;
        }
    }

    /** A reproducible byte stream: the sender and the checker draw the same bytes from the same seed. */
    private static final class ByteStream {
        private final SplittableRandom random;
        private long word;
        private int left;

        ByteStream(long seed) {
            random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        }

        void next(byte[] into) {
            next(into, into.length);
        }

        void next(byte[] into, int n) {
            for (int i = 0; i < n; i++) {
                if (left == 0) {
                    word = random.nextLong();
                    left = 8;
                }
                into[i] = (byte) word;
                word >>>= 8;
                left--;
            }
        }
    }
}
