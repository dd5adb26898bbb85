package dev.strait.server;

import static dev.strait.server.support.Clients.closedByPeer;
import static dev.strait.server.support.Ports.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.BackendSpec;
import dev.strait.config.HostAndPort;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What happens to a client while its backend connect fails: the next backend is tried without losing a client byte,
 * and with none available the client is held for {@code timeouts.queue}, served if a backend comes back in time and
 * closed if not.
 */
class QueueAndRetryIT {
    /**
     * Where the dead backend is: a loopback address the proxy never listens on, so that the kernel cannot hand the
     * proxy's own listener (bound to 127.0.0.1, port 0) the port this test found free, which made the "dead" backend
     * the proxy itself.
     */
    private static final String DEAD_HOST = "127.0.0.9:";

    private static final TransportKind TRANSPORT = TransportKind.AUTO;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    @Test
    void retriesADeadBackendOnALiveOneWithoutLosingAClientByte() throws Exception {
        int dead = freePort();
        try (LoopbackBackend live = LoopbackBackend.echo()) {
            RunningProxy proxy = strait.start(TRANSPORT, route(2, Duration.ZERO, DEAD_HOST + dead, live.address()));
            for (int i = 0; i < 200; i++) {
                try (Socket client = proxy.connect()) {
                    int size = 1 + (i * 7919) % (32 * 1024);
                    // Sent at once, usually before the proxy's first backend connect has failed.
                    String sent = Bytes.writeRandom(client.getOutputStream(), size, 4096, i);
                    client.shutdownOutput();
                    Bytes.Digest echoed = Bytes.readAll(client.getInputStream());
                    assertThat(echoed.count()).as("client %d: bytes echoed", i).isEqualTo(size);
                    assertThat(echoed.sha256())
                            .as("client %d: SHA-256 of the echo", i)
                            .isEqualTo(sent);
                }
            }
            RouteMetrics metrics = metrics(proxy);
            assertThat(metrics.backendConnectFailuresTotal())
                    .as("connects to the dead backend (round-robin tries it for every other client)")
                    .isPositive();
            assertThat(metrics.noBackendTotal()).as("clients given up on").isZero();
        }
    }

    @Test
    void closesTheClientWhenTheFirstPickFailsAndRetriesIsZero() throws Exception {
        int dead = freePort();
        try (LoopbackBackend live = LoopbackBackend.echo()) {
            RunningProxy proxy = strait.start(TRANSPORT, route(0, Duration.ZERO, DEAD_HOST + dead, live.address()));
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write('x');
                client.setSoTimeout(5000);
                assertThat(closedByPeer(client.getInputStream()))
                        .as("the client whose only attempt (the dead backend) failed is closed")
                        .isTrue();
            }
            assertThat(metrics(proxy).backendConnectFailuresTotal()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> metrics(proxy).noBackendTotal() == 1);
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write('y');
                client.shutdownOutput();
                assertThat(client.getInputStream().readAllBytes())
                        .as("the next client, picked onto the live backend, is served")
                        .containsExactly((byte) 'y');
            }
            assertThat(live.acceptedCount()).as("connects the live backend saw").isEqualTo(1);
        }
    }

    @Test
    void holdsAClientWhileNoBackendIsUpAndServesItWhenOneStartsWithinTheQueueTimeout() throws Exception {
        int port = freePort();
        RunningProxy proxy = strait.start(TRANSPORT, route(2, Duration.ofSeconds(5), "127.0.0.1:" + port));
        try (Socket client = proxy.connect()) {
            String sent = Bytes.writeRandom(client.getOutputStream(), 32_768, 8192, 42);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().connections().size() == 1);
            // Held: the proxy keeps trying every 100ms; wait for a few failed rounds (about half a second).
            await().atMost(Duration.ofSeconds(4)).until(() -> metrics(proxy).backendConnectFailuresTotal() >= 5);

            try (LoopbackBackend backend = LoopbackBackend.restartable(
                    InetAddress.getByName("127.0.0.1"), port, LoopbackBackend.echoHandler())) {
                await().atMost(Duration.ofSeconds(5))
                        .alias("the held client reaches the backend that just started")
                        .until(() -> backend.liveConnections() == 1);
                client.shutdownOutput();
                Bytes.Digest echoed = Bytes.readAll(client.getInputStream());
                assertThat(echoed.count()).as("bytes echoed to the held client").isEqualTo(32_768);
                assertThat(echoed.sha256()).as("SHA-256 of the echo").isEqualTo(sent);
            }
            assertThat(metrics(proxy).noBackendTotal())
                    .as("clients given up on")
                    .isZero();
        }
    }

    @Test
    void closesAHeldClientWhenTheQueueTimeoutPasses() throws Exception {
        int port = freePort();
        RunningProxy proxy = strait.start(TRANSPORT, route(2, Duration.ofMillis(500), "127.0.0.1:" + port));
        long start = System.nanoTime();
        try (Socket client = proxy.connect()) {
            client.getOutputStream().write('x');
            client.setSoTimeout(5000);
            boolean closed = closedByPeer(client.getInputStream());
            long heldMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(closed).as("closed within the 5s deadline").isTrue();
            assertThat(heldMillis)
                    .as("held for the 500ms queue timeout (closed after %dms; not before 400ms)", heldMillis)
                    .isGreaterThanOrEqualTo(400);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics(proxy).noBackendTotal() == 1);
    }

    private static RouteMetrics metrics(RunningProxy proxy) {
        return proxy.server().routeMetrics().get("test");
    }

    /** Route {@code test}: round-robin over the backends in order, with these retries and queue timeout. */
    private static TestRoutes.Builder route(int retries, Duration queue, String... backends) {
        List<BackendSpec> specs = List.of(backends).stream()
                .map(b -> BackendSpec.of(HostAndPort.parse("backend", b)))
                .toList();
        Timeouts timeouts = new Timeouts(
                Timeouts.DEFAULT_CONNECT, Duration.ZERO, Duration.ZERO, Duration.ZERO, queue, Duration.ZERO);
        return TestRoutes.route("test").backendSpecs(specs).retries(retries).timeouts(timeouts);
    }
}
