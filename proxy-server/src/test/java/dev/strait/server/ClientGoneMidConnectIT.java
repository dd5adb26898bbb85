package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.AcceptQueue;
import dev.strait.server.support.Clients;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.Transports;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A client that goes (cut by its max lifetime, or by its own reset) while the proxy still connects to the backend
 * counts as no backend failure: the passive check leaves the backend up.
 */
class ClientGoneMidConnectIT {
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
                client -> Clients.assertClosedByProxyWithin(client, 10_000, "a client with a 1s maxLifetime"));
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
                Route route = TestRoutes.oneBackend(
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

    private static RouteMetrics metrics(ProxyServer server, String route) {
        return server.routeMetrics().get(route);
    }
}
