package dev.strait.server;

import static dev.strait.server.support.Ports.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.AcceptQueue;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Transports;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Regressions for the defects found in review, each over real loopback sockets: reload against closing connections,
 * a client's bytes and FIN while it waits for admission, the queue timeout of a waiting client, a global limit change
 * on reload, a port held by another proxy despite SO_REUSEPORT, the passive cool-off across a reload, and a client
 * that leaves mid-connect.
 */
class ReviewRegressionIT {
    private static final int CLIENT_THREADS = 8;
    private static final Duration CHURN = Duration.ofSeconds(3);
    private static final int MIN_RELOADS = 20;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    /**
     * Epoll watches every socket for a hang-up, so it sees a client's reset while the proxy is not reading it yet; NIO
     * and io_uring see it only once the relay starts reading (or the connect times out).
     */
    static Stream<TransportKind> transportsThatSeeAResetOnAnUnreadClient() {
        return Transports.available().filter(kind -> kind == TransportKind.EPOLL);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void reloadsAndShutsDownWithinDeadlinesWhileClientsConnectAndClose(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Route test = route("test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
            Route extra = route("extra", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
            ProxyConfig one = RunningProxy.config(transport, List.of(test));
            ProxyConfig two = RunningProxy.config(transport, List.of(test, extra));
            ProxyServer server = ProxyServer.start(one);
            boolean stopped = false;
            try {
                int port = server.boundAddress("test").getPort();
                AtomicBoolean churning = new AtomicBoolean(true);
                List<Future<Integer>> clients = new ArrayList<>();
                for (int i = 0; i < CLIENT_THREADS; i++) {
                    int id = i;
                    clients.add(pool.submit(() -> churn(port, id, churning)));
                }

                // Every reload binds or closes a listener (waiting on an event loop) while connections close.
                long until = System.nanoTime() + CHURN.toNanos();
                int reloads = 0;
                try {
                    while (reloads < MIN_RELOADS || System.nanoTime() - until < 0) {
                        ProxyConfig next = reloads % 2 == 0 ? two : one;
                        Future<?> reload = pool.submit(() -> {
                            server.reload(next);
                            return null;
                        });
                        assertThat(reload)
                                .as("reload %d (%s route extra) while clients connect and close", reloads, verb(next))
                                .succeedsWithin(Duration.ofSeconds(10));
                        reloads++;
                    }
                } finally {
                    churning.set(false);
                }
                int echoed = 0;
                for (Future<Integer> client : clients) {
                    echoed += client.get(60, TimeUnit.SECONDS);
                }
                assertThat(echoed)
                        .as("connections echoed during %d reloads", reloads)
                        .isGreaterThanOrEqualTo(CLIENT_THREADS);

                Future<?> shutdown = pool.submit(() -> server.shutdown(Duration.ofSeconds(5)));
                assertThat(shutdown).as("shutdown after the reloads").succeedsWithin(Duration.ofSeconds(30));
                stopped = true;
            } finally {
                if (!stopped) {
                    stopWithoutWaitingForever(server);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void servesByteExactAClientThatSentBytesAndHalfClosedWhileWaitingForTheAcceptRate(TransportKind transport)
            throws Exception {
        int size = 16 * 1024;
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        transport,
                        route(
                                "test",
                                0,
                                backend.address(),
                                PassiveCheck.DISABLED,
                                // A client accepted before the listener's pause waits up to timeouts.queue (0:
                                // refused).
                                new Timeouts(
                                        Timeouts.DEFAULT_CONNECT,
                                        Duration.ZERO,
                                        Duration.ZERO,
                                        Duration.ZERO,
                                        Duration.ofSeconds(10),
                                        Duration.ZERO),
                                new Limits(0, OnLimit.QUEUE, 0, 1)));
                Socket first = proxy.connect()) {
            assertEchoes(first, "takes the only token of this second");
            long tokenTaken = System.nanoTime();

            try (Socket waiting = proxy.connect()) {
                // Accepted, then told to wait for the next token: everything it sends arrives while it waits.
                String sent = Bytes.writeRandom(waiting.getOutputStream(), size, 4096, 11);
                waiting.shutdownOutput();

                waiting.setSoTimeout(10_000);
                Bytes.Digest echoed = Bytes.readAll(waiting.getInputStream()); // ends once the backend saw the FIN
                long heldMillis = (System.nanoTime() - tokenTaken) / 1_000_000;
                assertThat(echoed.count())
                        .as("bytes echoed to the client that waited")
                        .isEqualTo(size);
                assertThat(echoed.sha256()).as("SHA-256 of the echo").isEqualTo(sent);
                assertThat(heldMillis)
                        .as("the second client waited for the acceptRate of 1/s (served after %dms)", heldMillis)
                        .isGreaterThanOrEqualTo(500);
            }
            assertThat(backend.acceptedCount()).as("backend connections").isEqualTo(2);
            assertThat(metrics(proxy.server(), "test").refusedTotal()).isZero();
            assertEchoes(first, "the first client still relays");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesAClientStillWaitingForTheAcceptRateOnceTheQueueTimeoutPasses(TransportKind transport) throws Exception {
        Timeouts queue300ms = new Timeouts(
                Timeouts.DEFAULT_CONNECT,
                Duration.ZERO,
                Duration.ZERO,
                Duration.ZERO,
                Duration.ofMillis(300),
                Duration.ZERO);
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        transport,
                        route(
                                "test",
                                0,
                                backend.address(),
                                PassiveCheck.DISABLED,
                                queue300ms,
                                new Limits(0, OnLimit.QUEUE, 0, 1)));
                Socket first = proxy.connect()) {
            assertEchoes(first, "takes the only token of this second");

            long start = System.nanoTime();
            try (Socket waiting = proxy.connect()) {
                waiting.getOutputStream().write('w');
                // The next token comes a second after the first; the 300ms queue timeout passes before it.
                assertClosedByProxyWithin(waiting, 5000, "the waiting client");
                long heldMillis = (System.nanoTime() - start) / 1_000_000;
                assertThat(heldMillis)
                        .as("held for the 300ms queue timeout (closed after %dms)", heldMillis)
                        .isGreaterThanOrEqualTo(250);
            }
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> metrics(proxy.server(), "test").refusedTotal() == 1);
            assertThat(backend.acceptedCount())
                    .as("backend connections (none for the client that timed out)")
                    .isEqualTo(1);
        }
    }

    @Test
    void appliesAGlobalMaxConnectionsChangeOnReloadWhenTheRoutesAreUnchanged() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Route test = route("test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
            try (RunningProxy proxy = RunningProxy.start(withGlobalMax(1, List.of(test)));
                    Socket first = proxy.connect()) {
                assertEchoes(first, "the only connection allowed");
                try (Socket second = proxy.connect()) {
                    assertClosedByProxyWithin(second, 2000, "a second client under global maxConnections 1");
                }

                proxy.server().reload(withGlobalMax(0, List.of(test)));

                try (Socket second = proxy.connect()) {
                    assertEchoes(second, "served once the global limit is lifted");
                }
                assertEchoes(first, "the first client still relays");
                assertThat(metrics(proxy.server(), "test").refusedTotal()).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void refusesToStartASecondProxyOnAPortTheFirstHolds(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy first = RunningProxy.start(
                        transport,
                        route("test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE))) {
            int port = first.port();
            Route same = route("test", port, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);

            StartException failure = startFailure(RunningProxy.config(transport, List.of(same)));

            assertThat(failure)
                    .as("starting a second %s proxy on port %d", transport, port)
                    .hasMessageStartingWith("cannot listen on 127.0.0.1:" + port + " for route test");
            // No listener of the second proxy lingers to take the first one's clients.
            for (int i = 0; i < 20; i++) {
                try (Socket client = first.connect()) {
                    assertEchoes(client, "client " + i + " of the first proxy");
                }
            }
            assertThat(backend.acceptedCount()).isEqualTo(20);
        }
    }

    @Test
    void bringsBackABackendAfterItsPassiveCoolOffWhenAReloadComesInBetween() throws Exception {
        int dead = freePort();
        Route route = route(
                "test",
                0,
                "127.0.0.1:" + dead,
                new PassiveCheck(1, Duration.ofSeconds(1)),
                Timeouts.DEFAULTS,
                Limits.NONE);
        try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route)) {
            takeDownByOneRefusedConnect(proxy);

            proxy.server()
                    .reload(RunningProxy.config(TransportKind.AUTO, List.of(route.withTimeouts(fiveMinutesIdle()))));
            assertThat(proxy.server().config().routes().get(0).timeouts().idle())
                    .isEqualTo(Duration.ofMinutes(5));

            await().atMost(Duration.ofSeconds(3))
                    .alias("the backend is back after its 1s cool-off, though a reload came in between")
                    .until(() -> proxy.server().backends("test").get(0).healthy());
        }
    }

    @Test
    void keepsABackendOutForItsWholePassiveCoolOffAcrossAReload() throws Exception {
        int dead = freePort();
        Route route = route(
                "test",
                0,
                "127.0.0.1:" + dead,
                new PassiveCheck(1, Duration.ofSeconds(2)),
                Timeouts.DEFAULTS,
                Limits.NONE);
        try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route)) {
            long downAt = takeDownByOneRefusedConnect(proxy);

            proxy.server()
                    .reload(RunningProxy.config(TransportKind.AUTO, List.of(route.withTimeouts(fiveMinutesIdle()))));

            long sinceDown = (System.nanoTime() - downAt) / 1_000_000;
            assertThat(proxy.server().backends("test").get(0).healthy())
                    .as("healthy right after a reload that changed only a timeout, %dms into a 2s cool-off", sinceDown)
                    .isFalse();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().backends("test").get(0).healthy());
            long outMillis = (System.nanoTime() - downAt) / 1_000_000;
            assertThat(outMillis)
                    .as("out for the 2s cool-off (measured %dms)", outMillis)
                    .isGreaterThanOrEqualTo(1900);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void countsNoBackendFailureForAClientCutByMaxLifetimeWhileTheBackendConnectIsInFlight(TransportKind transport)
            throws Exception {
        Timeouts lifetime1s = new Timeouts(
                Duration.ofSeconds(30),
                Duration.ZERO,
                Duration.ZERO,
                Duration.ZERO,
                Duration.ZERO,
                Duration.ofSeconds(1));
        assertNoBackendFailureCountedForAClientGoneMidConnect(
                transport,
                lifetime1s,
                client -> assertClosedByProxyWithin(client, 10_000, "a client with a 1s maxLifetime"));
    }

    @ParameterizedTest
    @MethodSource("transportsThatSeeAResetOnAnUnreadClient")
    void countsNoBackendFailureForAClientThatResetsWhileTheBackendConnectIsInFlight(TransportKind transport)
            throws Exception {
        assertNoBackendFailureCountedForAClientGoneMidConnect(
                transport, new Timeouts(Duration.ofSeconds(30), Duration.ZERO), client -> {
                    client.setSoLinger(true, 0);
                    client.close(); // a reset: unlike a FIN (a half-close), it ends the client
                });
    }

    /** What a test client does to end its connection while the proxy still connects to the backend. */
    @FunctionalInterface
    private interface Departure {
        void leave(Socket client) throws IOException;
    }

    /**
     * A backend whose connects stay in flight (its listener's accept queue is full, so the kernel drops the SYNs) and a
     * passive check that takes it down after one failure: a client that goes while the proxy connects must count as no
     * backend failure.
     */
    private static void assertNoBackendFailureCountedForAClientGoneMidConnect(
            TransportKind transport, Timeouts timeouts, Departure departure) throws Exception {
        try (ServerSocket stalled = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            List<Socket> fillers = AcceptQueue.fill(stalled);
            try {
                Route route = route(
                        "test",
                        0,
                        "127.0.0.1:" + stalled.getLocalPort(),
                        new PassiveCheck(1, Duration.ofSeconds(60)),
                        timeouts,
                        Limits.NONE);
                try (RunningProxy proxy = RunningProxy.start(transport, route)) {
                    Backend target = proxy.server().backends("test").get(0);
                    try (Socket client = proxy.connect()) {
                        client.getOutputStream().write('x');
                        await().atMost(Duration.ofSeconds(5))
                                .alias("the proxy is connecting to the stalled backend")
                                .until(() -> target.activeConnections() == 1);
                        assertThat(proxy.server().connections().snapshot())
                                .as("the client's connection while the backend connect is in flight")
                                .singleElement()
                                .extracting(c -> c.state().name())
                                .isEqualTo("connecting");
                        departure.leave(client);
                    }

                    await().atMost(Duration.ofSeconds(10))
                            .alias("the proxy drops the client and abandons the connect")
                            .until(() -> proxy.server().connections().size() == 0 && target.activeConnections() == 0);
                    assertThat(metrics(proxy.server(), "test").backendConnectFailuresTotal())
                            .as("backend connect failures counted for a client that went mid-connect")
                            .isZero();
                    assertThat(target.healthy())
                            .as("the backend after a client went mid-connect (passive check: down after 1 failure)")
                            .isTrue();
                }
            } finally {
                for (Socket filler : fillers) {
                    filler.close();
                }
            }
        }
    }

    /** Connects, echoes a few bytes and closes, over and over while {@code churning}; returns how many echoed. */
    private static int churn(int port, int id, AtomicBoolean churning) throws IOException {
        int echoed = 0;
        for (int i = 0; churning.get() && i < 5000; i++) {
            try (Socket socket = Clients.connect(port)) {
                assertEchoes(socket, "client " + id + " round " + i);
            }
            echoed++;
        }
        return echoed;
    }

    private static String verb(ProxyConfig next) {
        return next.routes().size() == 2 ? "adding" : "removing";
    }

    /** Asks a deadlocked server to stop without blocking this thread for more than a few seconds. */
    private static void stopWithoutWaitingForever(ProxyServer server) {
        Future<?> shutdown = pool.submit(() -> server.shutdown(Duration.ZERO));
        try {
            shutdown.get(15, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // The test has already failed; a stuck server stays behind on daemon threads.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts a proxy expected to fail; if it starts, stops it and fails the test. */
    private static StartException startFailure(ProxyConfig config) {
        ProxyServer started;
        try {
            started = ProxyServer.start(config);
        } catch (StartException expected) {
            return expected;
        }
        InetSocketAddress bound = started.boundAddress(config.routes().get(0).name());
        started.shutdown(Duration.ZERO);
        throw new AssertionError("a second proxy started and listened on " + bound + " (transport "
                + started.transport().name() + ") while the first held it");
    }

    /** One client, whose connect to the route's only (dead) backend is refused, takes that backend down. */
    private static long takeDownByOneRefusedConnect(RunningProxy proxy) throws IOException {
        try (Socket client = proxy.connect()) {
            assertClosedByProxyWithin(client, 5000, "a client whose only backend refuses");
        }
        await().atMost(Duration.ofSeconds(5))
                .alias("the passive check takes the backend down")
                .until(() -> !proxy.server().backends("test").get(0).healthy());
        long downAt = System.nanoTime();
        assertThat(metrics(proxy.server(), "test").backendConnectFailuresTotal())
                .isEqualTo(1);
        return downAt;
    }

    private static Timeouts fiveMinutesIdle() {
        return new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofMinutes(5));
    }

    private static ProxyConfig withGlobalMax(int maxConnections, List<Route> routes) {
        ProxyConfig base = RunningProxy.config(TransportKind.AUTO, routes);
        return new ProxyConfig(
                base.transport(),
                base.splice(),
                base.workers(),
                base.backlog(),
                base.shutdownTimeout(),
                base.admin(),
                base.dns(),
                maxConnections,
                base.routes());
    }

    /** A route on 127.0.0.1:{@code port} to one backend, round-robin, with no active health check. */
    private static Route route(
            String name, int port, String backend, PassiveCheck passive, Timeouts timeouts, Limits limits) {
        return TestRoutes.route(name)
                .port(port)
                .backends(backend)
                .passiveCheck(passive)
                .timeouts(timeouts)
                .limits(limits)
                .build();
    }

    private static RouteMetrics metrics(ProxyServer server, String route) {
        return server.routeMetrics().get(route);
    }

    private static void assertEchoes(Socket socket, String text) throws IOException {
        assertThat(Clients.echo(socket, text)).isEqualTo(text);
    }

    /** The proxy ends the connection (end of stream or a reset) within {@code millis}, before sending a byte. */
    private static void assertClosedByProxyWithin(Socket socket, int millis, String what) throws IOException {
        socket.setSoTimeout(millis);
        assertThat(Clients.closedByPeer(socket.getInputStream()))
                .as("%s: closed by the proxy within %dms", what, millis)
                .isTrue();
    }
}
