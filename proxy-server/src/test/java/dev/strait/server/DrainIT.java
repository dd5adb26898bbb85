package dev.strait.server;

import static dev.strait.server.support.Clients.closedByPeer;
import static dev.strait.server.support.Clients.connect;
import static dev.strait.server.support.Clients.echo;
import static dev.strait.server.support.Clients.isRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.TestThreads;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Draining on shutdown, on the default transport: listeners close at once, live connections keep relaying until they
 * end or the deadline passes, then the rest are closed and the event loops stop.
 */
class DrainIT {
    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @Test
    void stopsAcceptingAtOnceButRelaysALiveConnectionUntilTheClientCloses() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            ProxyServer server = start(backend);
            try {
                int port = server.boundAddress("drain").getPort();
                Future<?> shutdown;
                try (Socket client = connect(port)) {
                    assertThat(echo(client, "before")).isEqualTo("before");

                    shutdown = pool.submit(() -> server.shutdown(Duration.ofSeconds(20)));

                    await().atMost(Duration.ofSeconds(5)).until(() -> isRefused(port));
                    assertThat(server.isAccepting()).isFalse();
                    assertThat(echo(client, "during the drain")).isEqualTo("during the drain");
                    // A probe accepted just before the listener closed may still be closing.
                    await().atMost(Duration.ofSeconds(5))
                            .until(() -> server.connections().size() == 1);
                    assertThat(shutdown.isDone())
                            .as("shutdown waits for the live connection")
                            .isFalse();
                }

                shutdown.get(5, TimeUnit.SECONDS); // far inside the 20s deadline: it ended with the connection
                assertThat(server.connections().size()).isZero();
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }

    @Test
    void closesAConnectionThatOutlivesTheDeadlineAndReturns() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            ProxyServer server = start(backend);
            try (Socket client = connect(server.boundAddress("drain").getPort())) {
                assertThat(echo(client, "hello")).isEqualTo("hello");
                long started = System.nanoTime();

                Future<?> shutdown = pool.submit(() -> server.shutdown(Duration.ofSeconds(1)));

                shutdown.get(15, TimeUnit.SECONDS);
                assertThat(Duration.ofNanos(System.nanoTime() - started))
                        .as("the live connection had its deadline")
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
                client.setSoTimeout(5000);
                assertThat(closedByPeer(client.getInputStream()))
                        .as("the client sees its connection closed")
                        .isTrue();
                assertThat(server.connections().size()).isZero();
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }

    @Test
    void stopsItsEventLoopThreads() throws Exception {
        Set<Thread> before = eventLoopThreads();
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            ProxyServer server = start(backend);
            try (Socket client = connect(server.boundAddress("drain").getPort())) {
                assertThat(echo(client, "ping")).isEqualTo("ping");
                assertThat(eventLoopThreads())
                        // Native transports accept on the workers (SO_REUSEPORT), so the boss may never start.
                        .as("this server's worker threads run")
                        .anyMatch(t -> !before.contains(t) && t.getName().startsWith("strait-worker"));
            } finally {
                server.shutdown(Duration.ofSeconds(5));
            }
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(eventLoopThreads())
                .as("event loop threads alive after shutdown, other than those running before the test")
                .isSubsetOf(before));
    }

    private static ProxyServer start(LoopbackBackend backend) throws StartException {
        Route route = Route.of(
                "drain", new HostAndPort("127.0.0.1", 0), List.of(new HostAndPort("127.0.0.1", backend.port())));
        return ProxyServer.start(ProxyConfig.of(List.of(route)));
    }

    private static Set<Thread> eventLoopThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t ->
                        t.getName().startsWith("strait-boss") || t.getName().startsWith("strait-worker"))
                .collect(Collectors.toSet());
    }
}
