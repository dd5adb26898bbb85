package dev.strait.server;

import static dev.strait.server.support.Clients.connect;
import static dev.strait.server.support.Clients.echo;
import static dev.strait.server.support.Clients.isRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar as users run it: the startup line, relaying, SIGTERM draining to exit 0, and its exit codes. */
class JarLifecycleIT {
    private static final ExecutorService pool = Executors.newCachedThreadPool();

    @TempDir
    Path dir;

    @AfterAll
    static void stopPool() throws InterruptedException {
        pool.shutdownNow();
        pool.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void relaysThenDrainsALiveConnectionOnSigtermAndExitsZero() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                Jar strait = Jar.start("--listen", "127.0.0.1:0", "--backend", backend.address())) {
            Matcher listening =
                    strait.awaitStdout(Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:"
                            + backend.port() + " \\(transport (epoll|nio|io_uring)\\)"));
            int port = Integer.parseInt(listening.group(1));

            try (Socket client = connect(port)) {
                assertThat(echo(client, "hello")).isEqualTo("hello");
                relaysBulkDataByteExact(client, 4 * 1024 * 1024);

                // SIGTERM; unlike Process.destroy(), the handle's destroy() leaves our end of the pipes open.
                assertThat(strait.process.toHandle().destroy()).isTrue();

                strait.awaitStdout(Pattern.compile("draining 1 connection\\(s\\)"));
                await().atMost(Duration.ofSeconds(5)).until(() -> isRefused(port));
                assertThat(echo(client, "still relaying")).isEqualTo("still relaying");
                assertThat(strait.process.isAlive())
                        .as("waits for the live connection")
                        .isTrue();
            }

            assertThat(strait.exited(Duration.ofSeconds(10)))
                    .as("exits soon after the last connection closed, well before shutdownTimeout (30s):%n%s", strait)
                    .isTrue();
            assertThat(strait.process.exitValue())
                    .as("exit code after SIGTERM:%n%s", strait)
                    .isZero();
            assertThat(strait.stdout()).doesNotContain("LEAK:");
            assertThat(strait.stderr()).as("stderr").isEmpty();
        }
    }

    @Test
    void exitsOneWithOneLineWhenTheListenPortIsInUse() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            try (Jar strait = Jar.start("--listen", "127.0.0.1:" + port, "--backend", "127.0.0.1:1")) {
                assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isEqualTo(1);
                assertThat(strait.stderrLines())
                        .as("stderr")
                        .singleElement()
                        .asString()
                        .startsWith("strait: ")
                        .contains("cannot listen on 127.0.0.1:" + port);
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
        try (Jar strait = Jar.start("--check-config", "--config", file.toString())) {
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
        try (Jar strait = Jar.start("--check-config", "--config", file.toString())) {
            assertThat(strait.awaitExit()).as("exit code:%n%s", strait).isZero();
            assertThat(strait.stdout()).contains("config ok");
            assertThat(strait.stderr()).isEmpty();
        }
    }

    private static void relaysBulkDataByteExact(Socket client, int total) throws Exception {
        Future<String> sent = pool.submit(() -> Bytes.writeRandom(client.getOutputStream(), total, 64 * 1024, 17));
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(Bytes.readExactly(client.getInputStream(), total));
        assertThat(HexFormat.of().formatHex(digest.digest())).isEqualTo(sent.get(30, TimeUnit.SECONDS));
    }

    /** {@code java -jar target/proxy-server.jar ARGS} with its stdout and stderr collected line by line. */
    private static final class Jar implements AutoCloseable {
        private final Process process;
        private final List<String> stdout = new CopyOnWriteArrayList<>();
        private final List<String> stderr = new CopyOnWriteArrayList<>();
        private final List<Thread> readers;

        private Jar(Process process) {
            this.process = process;
            this.readers = List.of(
                    collect(process.getInputStream(), stdout, "stdout"),
                    collect(process.getErrorStream(), stderr, "stderr"));
        }

        static Jar start(String... args) throws IOException {
            Path jar = Path.of("target", "proxy-server.jar").toAbsolutePath();
            assertThat(jar)
                    .as("the package phase builds the jar before failsafe runs")
                    .isRegularFile();
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dio.netty.leakDetection.level=paranoid",
                    "-jar",
                    jar.toString()));
            command.addAll(List.of(args));
            return new Jar(new ProcessBuilder(command).start());
        }

        private static Thread collect(InputStream stream, List<String> lines, String name) {
            Thread reader = new Thread(
                    () -> {
                        try (BufferedReader in =
                                new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                            for (String line; (line = in.readLine()) != null; ) {
                                lines.add(line);
                            }
                        } catch (IOException e) {
                            lines.add("(reading " + name + " failed: " + e + ")");
                        }
                    },
                    "strait-jar-" + name);
            reader.setDaemon(true);
            reader.start();
            return reader;
        }

        /** Waits for a stdout line in which the pattern is found, and returns its match. */
        Matcher awaitStdout(Pattern pattern) {
            await().atMost(Duration.ofSeconds(30))
                    .failFast("the process exited:\n" + this, () -> !process.isAlive() && find(pattern) == null)
                    .untilAsserted(() -> assertThat(find(pattern))
                            .as("a stdout line matching %s in%n%s", pattern, this)
                            .isNotNull());
            return find(pattern);
        }

        private Matcher find(Pattern pattern) {
            for (String line : stdout) {
                Matcher m = pattern.matcher(line);
                if (m.find()) {
                    return m;
                }
            }
            return null;
        }

        /** Whether the process exited by itself within the time; if so, both streams have been read to the end. */
        boolean exited(Duration within) throws InterruptedException {
            if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
                return false;
            }
            for (Thread reader : readers) {
                reader.join(5000);
            }
            return true;
        }

        /** Waits for the process to exit by itself and returns its exit code. */
        int awaitExit() throws InterruptedException {
            assertThat(exited(Duration.ofSeconds(30)))
                    .as("exits by itself:%n%s", this)
                    .isTrue();
            return process.exitValue();
        }

        String stdout() {
            return String.join("\n", stdout);
        }

        String stderr() {
            return String.join("\n", stderr);
        }

        List<String> stderrLines() {
            return List.copyOf(stderr);
        }

        @Override
        public String toString() {
            return "--- stdout:\n" + stdout() + "\n--- stderr:\n" + stderr();
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
