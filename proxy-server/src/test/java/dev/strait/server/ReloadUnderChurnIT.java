package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Transports;
import java.io.IOException;
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
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reload and shutdown while clients connect, echo and close as fast as they can: every reload and the final
 * shutdown finish within their deadlines, and every client round trip is echoed.
 */
class ReloadUnderChurnIT {
    private static final int CLIENT_THREADS = 8;

    private static final Duration CHURN = Duration.ofSeconds(3);

    private static final int MIN_RELOADS = 20;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void reloadsAndShutsDownWithinDeadlinesWhileClientsConnectAndClose(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Route test = TestRoutes.oneBackend(
                    "test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
            Route extra = TestRoutes.oneBackend(
                    "extra", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
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

    /** Connects, echoes a few bytes and closes, over and over while {@code churning}; returns how many echoed. */
    private static int churn(int port, int id, AtomicBoolean churning) throws IOException {
        int echoed = 0;
        for (int i = 0; churning.get() && i < 5000; i++) {
            try (Socket socket = Clients.connect(port)) {
                Clients.assertEchoes(socket, "client " + id + " round " + i);
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
}
