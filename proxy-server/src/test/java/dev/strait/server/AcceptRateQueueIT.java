package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.PassiveCheck;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.Transports;
import java.net.Socket;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A client held in the queue by a route's accept rate: what it sent (bytes, then its FIN) reaches the backend
 * byte-exact once a token frees it, and the queue timeout closes it if none does.
 */
class AcceptRateQueueIT {
    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void servesByteExactAClientThatSentBytesAndHalfClosedWhileWaitingForTheAcceptRate(TransportKind transport)
            throws Exception {
        int size = 16 * 1024;
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        transport,
                        TestRoutes.oneBackend(
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
            Clients.assertEchoes(first, "takes the only token of this second");
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
            Clients.assertEchoes(first, "the first client still relays");
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
                        TestRoutes.oneBackend(
                                "test",
                                0,
                                backend.address(),
                                PassiveCheck.DISABLED,
                                queue300ms,
                                new Limits(0, OnLimit.QUEUE, 0, 1)));
                Socket first = proxy.connect()) {
            Clients.assertEchoes(first, "takes the only token of this second");

            long start = System.nanoTime();
            try (Socket waiting = proxy.connect()) {
                waiting.getOutputStream().write('w');
                // The next token comes a second after the first; the 300ms queue timeout passes before it.
                Clients.assertClosedByProxyWithin(waiting, 5000, "the waiting client");
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

    private static RouteMetrics metrics(ProxyServer server, String route) {
        return server.routeMetrics().get(route);
    }
}
