package dev.strait.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Transports;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Per-route, server-wide, per-source and accept-rate limits over real loopback sockets: clients beyond a limit are
 * refused or queued as configured, while the established connections keep relaying byte-exact.
 */
class LimitsIT {
    private static final int BULK = 4 * 1024 * 1024;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    /**
     * {@code timeouts.queue} 10s: a client accepted just before the listener's pause took effect (another event loop's
     * listener may accept one more) waits that long for a slot; with 0 it would be refused.
     */
    private static final Timeouts QUEUE = new Timeouts(
            Timeouts.DEFAULT_CONNECT,
            Duration.ZERO,
            Duration.ZERO,
            Duration.ZERO,
            Duration.ofSeconds(10),
            Duration.ZERO);

    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void refusesTheFourthClientOfARouteLimitedToThreeWhileTheThreeKeepRelaying(TransportKind transport)
            throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy =
                        RunningProxy.start(transport, route("test", backend, new Limits(3, OnLimit.REFUSE, 0, 0)))) {
            List<Socket> live = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    live.add(proxy.connect());
                    assertEchoes(live.get(i), "live-" + i);
                }

                try (Socket fourth = proxy.connect()) {
                    assertClosedByProxy(fourth);
                }

                assertThat(metrics(proxy, "test").refusedTotal()).isEqualTo(1);
                assertThat(backend.acceptedCount()).as("backend connections").isEqualTo(3);
                // The client accepted past the limit waits unread: listed, but not relaying.
                assertThat(proxy.server().connections().snapshot().stream()
                                .filter(c -> c.state().name().equals("relaying"))
                                .count())
                        .isEqualTo(3);
                assertEachRelaysBulkByteExact(live);
            } finally {
                closeAll(live);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void queuesTheFourthClientOfARouteLimitedToThreeUntilASlotFrees(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        transport, route("test", backend, new Limits(3, OnLimit.QUEUE, 0, 0), QUEUE))) {
            List<Socket> live = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    live.add(proxy.connect());
                    assertEchoes(live.get(i), "live-" + i);
                }

                Socket queued = proxy.connect(); // the kernel completes the handshake; it waits in the backlog
                live.add(queued);
                queued.getOutputStream().write("queued".getBytes(US_ASCII));
                assertThat(firstReadWithin(queued, 500))
                        .as(
                                "what a queued client reads in 500ms while the route is full (refused so far: %d)",
                                metrics(proxy, "test").refusedTotal())
                        .isEqualTo("nothing");
                assertThat(backend.acceptedCount())
                        .as("backend connections while full")
                        .isEqualTo(3);
                // The client accepted past the limit waits unread: listed, but not relaying.
                assertThat(proxy.server().connections().snapshot().stream()
                                .filter(c -> c.state().name().equals("relaying"))
                                .count())
                        .isEqualTo(3);

                live.remove(0).close();

                queued.setSoTimeout(5000);
                assertThat(new String(Bytes.readExactly(queued.getInputStream(), 6), US_ASCII))
                        .as("the queued client is served within 5s once a slot frees")
                        .isEqualTo("queued");
                assertThat(metrics(proxy, "test").refusedTotal()).isZero();
                assertEachRelaysBulkByteExact(live);
            } finally {
                closeAll(live);
            }
        }
    }

    @Test
    void appliesTheServerWideLimitAcrossRoutes() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            ProxyConfig base = RunningProxy.config(
                    TransportKind.AUTO, List.of(route("a", backend, Limits.NONE), route("b", backend, Limits.NONE)));
            ProxyConfig config = new ProxyConfig(
                    base.transport(),
                    base.splice(),
                    base.workers(),
                    base.backlog(),
                    base.shutdownTimeout(),
                    base.admin(),
                    base.dns(),
                    3,
                    base.routes());
            try (RunningProxy proxy = RunningProxy.start(config)) {
                List<Socket> live = new ArrayList<>();
                try {
                    live.add(connect(proxy, "a"));
                    live.add(connect(proxy, "a"));
                    live.add(connect(proxy, "b"));
                    for (int i = 0; i < 3; i++) {
                        assertEchoes(live.get(i), "live-" + i);
                    }

                    try (Socket overB = connect(proxy, "b");
                            Socket overA = connect(proxy, "a")) {
                        assertClosedByProxy(overB);
                        assertClosedByProxy(overA);
                    }

                    assertThat(metrics(proxy, "a").refusedTotal()).isEqualTo(1);
                    assertThat(metrics(proxy, "b").refusedTotal()).isEqualTo(1);
                    assertEachRelaysBulkByteExact(live);

                    live.remove(0).close();
                    await().atMost(Duration.ofSeconds(5))
                            .until(() -> metrics(proxy, "a").active() == 1);
                    live.add(connect(proxy, "b"));
                    assertEchoes(live.get(2), "a freed slot serves route b");
                } finally {
                    closeAll(live);
                }
            }
        }
    }

    @Test
    void refusesAThirdConnectionFromOneSourceWhileAnotherSourceIsServed() throws Exception {
        InetAddress crowded = InetAddress.getByName("127.0.0.2");
        InetAddress other = InetAddress.getByName("127.0.0.3");
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO, route("test", backend, new Limits(0, OnLimit.REFUSE, 2, 0)))) {
            List<Socket> live = new ArrayList<>();
            try {
                live.add(proxy.connectFrom(crowded));
                live.add(proxy.connectFrom(crowded));
                assertEchoes(live.get(0), "first from 127.0.0.2");
                assertEchoes(live.get(1), "second from 127.0.0.2");

                try (Socket third = proxy.connectFrom(crowded)) {
                    assertClosedByProxy(third);
                }
                live.add(proxy.connectFrom(other));
                assertEchoes(live.get(2), "first from 127.0.0.3");

                assertThat(metrics(proxy, "test").refusedTotal()).isEqualTo(1);
                assertEachRelaysBulkByteExact(live);

                live.remove(0).close();
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> metrics(proxy, "test").active() == 2);
                live.add(proxy.connectFrom(crowded));
                assertEchoes(live.get(2), "127.0.0.2 again after one of its connections ended");
            } finally {
                closeAll(live);
            }
        }
    }

    @Test
    void refusesClientsBeyondTheAcceptRateAndLeavesTheAdmittedOnesRelaying() throws Exception {
        int rate = 5;
        int burst = 20;
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO, route("test", backend, new Limits(0, OnLimit.REFUSE, 0, rate)))) {
            List<Socket> clients = new ArrayList<>();
            try {
                long started = System.nanoTime();
                for (int i = 0; i < burst; i++) {
                    clients.add(proxy.connect());
                }
                RouteMetrics metrics = metrics(proxy, "test");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> metrics.acceptedTotal() + metrics.refusedTotal() == burst);
                double seconds = (System.nanoTime() - started) / 1e9;

                List<Socket> admitted = new ArrayList<>();
                for (Socket client : clients) {
                    if (isServed(client)) {
                        admitted.add(client);
                    }
                }

                // A full bucket holds one second's worth (5); it refills at 5/s while the burst lasts.
                int atMost = rate + (int) Math.ceil(seconds * rate);
                assertThat(admitted)
                        .as(
                                "clients admitted from a burst of %d at %d/s: between %d and %d (the burst took %.3fs)",
                                burst, rate, rate, atMost, seconds)
                        .hasSizeBetween(rate, atMost);
                assertThat(metrics.acceptedTotal()).isEqualTo(admitted.size());
                assertThat(metrics.refusedTotal()).isEqualTo(burst - admitted.size());
                assertThat(backend.acceptedCount()).isEqualTo(admitted.size());
                assertEachRelaysBulkByteExact(admitted);
            } finally {
                closeAll(clients);
            }
        }
    }

    /** A route named {@code name} on 127.0.0.1, port 0, to one backend, with these limits. */
    private static Route route(String name, LoopbackBackend backend, Limits limits) {
        return route(name, backend, limits, Timeouts.DEFAULTS);
    }

    private static Route route(String name, LoopbackBackend backend, Limits limits, Timeouts timeouts) {
        return TestRoutes.route(name)
                .backends(backend.address())
                .timeouts(timeouts)
                .limits(limits)
                .build();
    }

    private static RouteMetrics metrics(RunningProxy proxy, String route) {
        return proxy.server().routeMetrics().get(route);
    }

    private static Socket connect(RunningProxy proxy, String route) throws IOException {
        Socket socket = new Socket();
        socket.connect(proxy.server().boundAddress(route), 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    /** Writes the text and reads it back through the echo backend. */
    private static void assertEchoes(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(US_ASCII));
        assertThat(new String(Bytes.readExactly(socket.getInputStream(), text.length()), US_ASCII))
                .isEqualTo(text);
    }

    /** Whether a client of the echo backend gets its byte back; false if the proxy closed it (end or reset). */
    private static boolean isServed(Socket socket) throws IOException {
        socket.setSoTimeout(5000);
        try {
            socket.getOutputStream().write('?');
            return socket.getInputStream().read() == '?';
        } catch (SocketException e) {
            return false; // a reset, for a write to a socket the proxy had already closed
        } finally {
            socket.setSoTimeout(30_000);
        }
    }

    /** The proxy closes the client at once: end of stream (or a reset) within 2s, without a byte. */
    private static void assertClosedByProxy(Socket socket) throws IOException {
        assertThat(firstReadWithin(socket, 2000))
                .as("what a client beyond the limit reads within 2s")
                .isIn("end of stream", "reset");
    }

    /** What a socket reads within the time: "nothing", "end of stream", "reset" or "byte N". */
    private static String firstReadWithin(Socket socket, int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            int b = socket.getInputStream().read();
            return b < 0 ? "end of stream" : "byte " + b;
        } catch (SocketTimeoutException nothing) {
            return "nothing";
        } catch (SocketException reset) {
            return "reset";
        } finally {
            socket.setSoTimeout(30_000);
        }
    }

    /** Sends {@value #BULK} random bytes through every socket at once and checks each echo's SHA-256. */
    private static void assertEachRelaysBulkByteExact(List<Socket> sockets) throws Exception {
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < sockets.size(); i++) {
            Socket socket = sockets.get(i);
            long seed = i;
            done.add(pool.submit(() -> {
                Future<String> echoed = pool.submit(() -> sha256(Bytes.readExactly(socket.getInputStream(), BULK)));
                String sent = Bytes.writeRandom(socket.getOutputStream(), BULK, 64 * 1024, seed);
                assertThat(echoed.get(60, TimeUnit.SECONDS))
                        .as("SHA-256 of %d bytes echoed on connection %d", BULK, seed)
                        .isEqualTo(sent);
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static void closeAll(List<Socket> sockets) throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
    }
}
