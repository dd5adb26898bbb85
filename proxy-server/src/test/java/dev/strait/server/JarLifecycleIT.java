package dev.strait.server;

import static dev.strait.server.support.Clients.connect;
import static dev.strait.server.support.Clients.echo;
import static dev.strait.server.support.Clients.isRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar as users run it: the startup line, relaying, SIGTERM draining to exit 0, and its exit codes. */
class JarLifecycleIT {
    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @TempDir
    Path dir;

    @Test
    void relaysThenDrainsALiveConnectionOnSigtermAndExitsZero() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait =
                        StraitJar.start("lifecycle-drain", "--listen", "127.0.0.1:0", "--backend", backend.address())) {
            Matcher listening =
                    strait.awaitStdout(Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:"
                            + backend.port() + " \\(transport (epoll|nio|io_uring)\\)"));
            int port = Integer.parseInt(listening.group(1));
            strait.awaitStdout(Pattern.compile("strait \\S+ \\(commit \\S+, built \\S+\\) started: pid \\d+, --listen"
                    + " 127\\.0\\.0\\.1:0 --backend 127\\.0\\.0\\.1:" + backend.port()
                    + ", \\d+ worker\\(s\\), transport (epoll|nio|io_uring), splice auto"));

            try (Socket client = connect(port)) {
                assertThat(echo(client, "hello")).isEqualTo("hello");
                relaysBulkDataByteExact(client, 4 * 1024 * 1024);

                strait.signal("TERM");

                strait.awaitStdout(Pattern.compile("draining 1 connection\\(s\\)"));
                await().atMost(Duration.ofSeconds(5)).until(() -> isRefused(port));
                assertThat(echo(client, "still relaying")).isEqualTo("still relaying");
                assertThat(strait.process().isAlive())
                        .as("waits for the live connection")
                        .isTrue();
            }

            assertThat(strait.exited(Duration.ofSeconds(10)))
                    .as("exits soon after the last connection closed, well before shutdownTimeout (30s):%n%s", strait)
                    .isTrue();
            assertThat(strait.process().exitValue())
                    .as("exit code after SIGTERM:%n%s", strait)
                    .isZero();
            assertThat(strait.stdout()).doesNotContain("LEAK:");
            assertThat(strait.stderr()).as("stderr").isEmpty();
        }
    }

    @Test
    void aSecondSigtermDuringTheDrainClosesEveryConnectionAndExitsZero() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait = StraitJar.start(
                        "lifecycle-fast-stop", "--listen", "127.0.0.1:0", "--backend", backend.address());
                Socket client = connect(strait.awaitListening(1))) {
            assertThat(echo(client, "hello")).isEqualTo("hello");

            strait.signal("TERM");
            strait.awaitStdout(Pattern.compile("draining 1 connection\\(s\\)"));
            strait.signal("TERM");

            assertThat(strait.exited(Duration.ofSeconds(10)))
                    .as("a second SIGTERM ends the drain (shutdownTimeout is 30s) at once:%n%s", strait)
                    .isTrue();
            assertThat(strait.process().exitValue()).isZero();
            assertThat(strait.stdout()).contains("second stop signal").doesNotContain("LEAK:");
            assertThat(Clients.ending(client.getInputStream()))
                    .as("the live client is closed with a FIN")
                    .isEqualTo(Clients.Ending.FIN);
        }
    }

    @Test
    void sighupWithoutAConfigFileIsLoggedAndTheProxyRunsOn() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait =
                        StraitJar.start("lifecycle-hup", "--listen", "127.0.0.1:0", "--backend", backend.address())) {
            int port = strait.awaitListening(1);

            strait.signal("HUP");
            strait.awaitLine(Pattern.compile("SIGHUP: nothing to reload \\(no --config\\)"));

            assertThat(strait.process().isAlive())
                    .as("SIGHUP does not stop it:%n%s", strait)
                    .isTrue();
            try (Socket client = connect(port)) {
                assertThat(echo(client, "still here")).isEqualTo("still here");
            }
            strait.terminateAndAssertCleanExit();
        }
    }

    /**
     * 50 MiB pushed towards a backend that stopped reading, so writes are pending when SIGTERM comes: the drain
     * deadline ({@code shutdownTimeout: 2s}) still ends the process, with exit 0, no leak and nothing on stderr.
     */
    @Test
    void sigtermWithAFlushPendingToAStalledBackendExitsAtTheDrainDeadline() throws Exception {
        CompletableFuture<Void> backendAccepted = new CompletableFuture<>();
        try (LoopbackBackend stalled = LoopbackBackend.start(socket -> backendAccepted.complete(null))) {
            Path config = dir.resolve("stalled.yaml");
            Files.writeString(
                    config,
                    """
                    shutdownTimeout: 2s
                    routes:
                      - name: stalled
                        listen: 127.0.0.1:0
                        backends: ["%s"]
                    """
                            .formatted(stalled.address()));
            try (StraitJar strait = StraitJar.start("lifecycle-stalled-flush", "--config", config.toString());
                    Socket client = connect(strait.awaitListening(1))) {
                AtomicLong written = new AtomicLong();
                Future<?> pushing = pool.submit(() -> {
                    byte[] chunk = new byte[64 * 1024];
                    try {
                        for (int i = 0; i < 50 * 16; i++) {
                            client.getOutputStream().write(chunk);
                            written.addAndGet(chunk.length);
                        }
                    } catch (IOException closedByTheDrain) {
                        // expected: the proxy closes the client at the deadline
                    }
                    return null;
                });
                backendAccepted.get(10, TimeUnit.SECONDS);
                long[] seen = {-1, System.nanoTime()};
                await("the client's writes block: every buffer on the way to the stalled backend is full")
                        .atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(50))
                        .until(() -> {
                            long now = written.get();
                            if (now != seen[0]) {
                                seen[0] = now;
                                seen[1] = System.nanoTime();
                                return false;
                            }
                            return now > 0 && System.nanoTime() - seen[1] > TimeUnit.MILLISECONDS.toNanos(500);
                        });
                assertThat(pushing.isDone())
                        .as("50 MiB do not fit in the buffers")
                        .isFalse();

                long signalled = System.nanoTime();
                strait.signal("TERM");
                assertThat(strait.exited(Duration.ofSeconds(12)))
                        .as("exits at the 2s drain deadline (plus closing), not when the flush completes:%n%s", strait)
                        .isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - signalled))
                        .as("SIGTERM to exit")
                        .isGreaterThanOrEqualTo(Duration.ofMillis(1900));
                assertThat(strait.process().exitValue()).isZero();
                assertThat(strait.stdout()).doesNotContain("LEAK:").doesNotContain("Exception");
                assertThat(strait.stderr()).as("stderr").isEmpty();
                pushing.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void exitsOneWithOneLineWhenTheListenPortIsInUse() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            try (StraitJar strait = StraitJar.start(
                    "lifecycle-port-in-use", "--listen", "127.0.0.1:" + port, "--backend", "127.0.0.1:1")) {
                assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isEqualTo(1);
                assertThat(strait.stderrLines())
                        .as("stderr")
                        .singleElement()
                        .asString()
                        .startsWith("strait: ")
                        .contains("cannot listen on 127.0.0.1:" + port);
                assertThat(strait.stdout())
                        .as("stdout: nothing besides the one error line")
                        .isEmpty();
            }
        }
    }

    @Test
    void anAdminBindFailureReadsLikeARouteBindFailure() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            try (StraitJar strait = StraitJar.start(
                    "lifecycle-admin-in-use",
                    "--listen",
                    "127.0.0.1:0",
                    "--backend",
                    "127.0.0.1:1",
                    "--admin",
                    "127.0.0.1:" + port)) {
                assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isEqualTo(1);
                assertThat(strait.stderrLines())
                        .as("stderr")
                        .singleElement()
                        .asString()
                        .isEqualTo("strait: cannot listen on 127.0.0.1:" + port
                                + " for the admin endpoint: Address already in use");
            }
        }
    }

    @Test
    void exitsTwoWithOneLineWhenCheckingABadConfig() throws Exception {
        Path file = Files.writeString(
                dir.resolve("strait.yaml"),
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:99999
                """);
        try (StraitJar strait =
                StraitJar.start("lifecycle-check-config-1", "--check-config", "--config", file.toString())) {
            assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isEqualTo(2);
            assertThat(strait.stderrLines())
                    .as("stderr")
                    .singleElement()
                    .asString()
                    .startsWith("strait: ")
                    .contains("routes[0].backends[0]", "99999");
        }
    }

    @Test
    void exitsZeroWhenCheckingAGoodConfig() throws Exception {
        Path file = Files.writeString(
                dir.resolve("strait.yaml"),
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:5432
                """);
        try (StraitJar strait =
                StraitJar.start("lifecycle-check-config-2", "--check-config", "--config", file.toString())) {
            assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isZero();
            assertThat(strait.stdout()).contains("config ok");
            assertThat(strait.stderr()).isEmpty();
        }
    }

    @Test
    void theImagesDefaultConfigExitsTwoNamingStraitBackendWhenItIsNotSet() throws Exception {
        Path imageConfig =
                Path.of("..", "docker", "strait.yaml").toAbsolutePath().normalize();
        try (StraitJar strait = StraitJar.startWithout(
                "lifecycle-image-config-no-backend", "STRAIT_BACKEND", "--config", imageConfig.toString())) {
            assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isEqualTo(2);
            assertThat(strait.stderrLines())
                    .as("stderr")
                    .singleElement()
                    .asString()
                    .startsWith("strait: invalid config: routes[0].backends[0]: ")
                    .contains("environment variable STRAIT_BACKEND is not set");
            assertThat(strait.stdout()).doesNotContain("listening on");
        }
    }

    private static void relaysBulkDataByteExact(Socket client, int total) throws Exception {
        Future<String> sent = pool.submit(() -> Bytes.writeRandom(client.getOutputStream(), total, 64 * 1024, 17));
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(Bytes.readExactly(client.getInputStream(), total));
        assertThat(HexFormat.of().formatHex(digest.digest())).isEqualTo(sent.get(30, TimeUnit.SECONDS));
    }

    /** {@code java -jar target/proxy-server.jar ARGS} with its stdout and stderr collected line by line. */
}
