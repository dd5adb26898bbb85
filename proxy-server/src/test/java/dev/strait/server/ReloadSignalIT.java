package dev.strait.server;

import static dev.strait.server.support.Clients.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live reload of the packaged jar as users trigger it: SIGHUP (a new route binds, a live stream keeps relaying
 * byte-exact, an invalid file is rejected and the running routes stay) and {@code --watch} (a file change alone is
 * enough). Each run ends with SIGTERM, exit 0 and no Netty leak report in its stdout, which is kept under
 * {@code target/reload-signal-it/}.
 */
class ReloadSignalIT {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) -> ");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ExecutorService pool = Executors.newCachedThreadPool();

    @TempDir
    Path dir;

    @AfterAll
    static void stopPool() throws InterruptedException {
        pool.shutdownNow();
        pool.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void sighupAddsARouteKeepsALiveStreamByteExactAndRejectsAnInvalidFile() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = dir.resolve("strait.yaml");
            Files.writeString(config, routes(backend, "first"));
            try (Jar strait = Jar.start("sighup", "--config", config.toString())) {
                int first = strait.awaitListening(1);
                try (LiveStream live = LiveStream.open(first)) {
                    live.awaitMoreBytes();

                    Files.writeString(config, routes(backend, "first", "second"));
                    strait.signal("HUP");
                    int second = strait.awaitListening(2);
                    strait.awaitLine(Pattern.compile("reloaded .*strait\\.yaml \\(SIGHUP\\)"));
                    assertThat(second).isNotEqualTo(first);
                    assertThat(echo(second, "through the added route")).isEqualTo("through the added route");
                    live.awaitMoreBytes();

                    Files.writeString(config, routes(backend, "first", "second") + "    colour: blue\n");
                    strait.signal("HUP");
                    strait.awaitLine(Pattern.compile("reload rejected.*routes\\[1]\\.colour"));
                    assertThat(echo(first, "first still relays")).isEqualTo("first still relays");
                    assertThat(echo(second, "second still relays")).isEqualTo("second still relays");
                    live.awaitMoreBytes();

                    live.finishAndAssertByteExact();
                }
                assertThat(strait.lines(LISTENING))
                        .as("the rejected reload binds nothing:%n%s", strait)
                        .hasSize(2);
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    @Test
    void watchReloadsAChangedFileWithoutAnySignal() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = dir.resolve("strait.yaml");
            Files.writeString(config, routes(backend, "first"));
            try (Jar strait = Jar.start("watch", "--watch", "--config", config.toString())) {
                int first = strait.awaitListening(1);
                strait.awaitFileWatcher();
                try (LiveStream live = LiveStream.open(first)) {
                    live.awaitMoreBytes();

                    // Replace the file in one step, as a ConfigMap update does, so the watcher never reads half of it.
                    Path next = Files.writeString(dir.resolve("strait.yaml.next"), routes(backend, "first", "second"));
                    Files.move(next, config, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

                    int second = strait.awaitListening(2);
                    strait.awaitLine(Pattern.compile("reloaded .*strait\\.yaml \\(file changed\\)"));
                    assertThat(echo(second, "through the added route")).isEqualTo("through the added route");
                    assertThat(echo(first, "first still relays")).isEqualTo("first still relays");
                    live.awaitMoreBytes();
                    live.finishAndAssertByteExact();
                }
                assertThat(strait.lines(Pattern.compile("reload rejected"))).isEmpty();
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    /** A config with one route per name, each on 127.0.0.1 port 0, all to the echo backend. */
    private static String routes(LoopbackBackend backend, String... names) {
        StringBuilder yaml = new StringBuilder("shutdownTimeout: 10s\nroutes:\n");
        for (String name : names) {
            yaml.append("  - name: ")
                    .append(name)
                    .append("\n    listen: 127.0.0.1:0\n    backends: [\"")
                    .append(backend.address())
                    .append("\"]\n");
        }
        return yaml.toString();
    }

    /** A new connection through {@code port}: sends the text, returns what came back. */
    private static String echo(int port, String text) throws IOException {
        try (Socket socket = connect(port)) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(bytes);
            return new String(Bytes.readExactly(socket.getInputStream(), bytes.length), StandardCharsets.UTF_8);
        }
    }

    /**
     * One connection that streams random data as fast as it goes, reading the echo concurrently, until finished; then
     * what came back must equal what was sent.
     */
    private static final class LiveStream implements AutoCloseable {
        private final Socket socket;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong received = new AtomicLong();
        private final Future<Bytes.Digest> sent;
        private final Future<Bytes.Digest> echoed;

        private LiveStream(Socket socket) {
            this.socket = socket;
            this.sent = pool.submit(this::write);
            this.echoed = pool.submit(this::read);
        }

        static LiveStream open(int port) throws IOException {
            return new LiveStream(connect(port));
        }

        private Bytes.Digest write() throws Exception {
            SplittableRandom random = new SplittableRandom(42);
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[32 * 1024];
            long count = 0;
            while (!stop.get()) {
                random.nextBytes(buffer);
                int n = 1 + random.nextInt(buffer.length);
                socket.getOutputStream().write(buffer, 0, n);
                digest.update(buffer, 0, n);
                count += n;
            }
            socket.shutdownOutput();
            return new Bytes.Digest(HexFormat.of().formatHex(digest.digest()), count);
        }

        private Bytes.Digest read() throws Exception {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[64 * 1024];
            long count = 0;
            for (int n; (n = socket.getInputStream().read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
                count += n;
                received.addAndGet(n);
            }
            return new Bytes.Digest(HexFormat.of().formatHex(digest.digest()), count);
        }

        /** Waits until another 256 KiB came back, so the stream is known to flow at this point. */
        void awaitMoreBytes() {
            long before = received.get();
            await().atMost(WAIT)
                    .failFast("the stream ended early", () -> sent.isDone() || echoed.isDone())
                    .until(() -> received.get() >= before + 256 * 1024);
        }

        void finishAndAssertByteExact() throws Exception {
            stop.set(true);
            Bytes.Digest out = sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            Bytes.Digest back = echoed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(out.count()).as("bytes sent").isPositive();
            assertThat(back).as("the echo of %d bytes", out.count()).isEqualTo(out);
        }

        @Override
        public void close() throws IOException {
            stop.set(true);
            socket.close();
        }
    }

    /** {@code java -jar target/proxy-server.jar ARGS} with stdout and stderr in files under target/. */
    private static final class Jar implements AutoCloseable {
        private final Process process;
        private final Path stdout;
        private final Path stderr;

        private Jar(Process process, Path stdout, Path stderr) {
            this.process = process;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        static Jar start(String name, String... args) throws IOException {
            Path jar = Path.of("target", "proxy-server.jar").toAbsolutePath();
            assertThat(jar)
                    .as("the package phase builds the jar before failsafe runs")
                    .isRegularFile();
            Path logs = Files.createDirectories(Path.of("target", "reload-signal-it"));
            Path out = logs.resolve(name + ".stdout.log");
            Path err = logs.resolve(name + ".stderr.log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dio.netty.leakDetection.level=paranoid",
                    "-jar",
                    jar.toString()));
            command.addAll(List.of(args));
            Process process = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            return new Jar(process, out, err);
        }

        /** Waits for the n-th "listening on" line and returns its port. */
        int awaitListening(int n) throws IOException {
            await().atMost(WAIT)
                    .failFast("the process exited; see " + stdout.toAbsolutePath(), () -> !process.isAlive())
                    .untilAsserted(() -> assertThat(lines(LISTENING))
                            .as("listening lines in%n%s", this)
                            .hasSizeGreaterThanOrEqualTo(n));
            Matcher m = LISTENING.matcher(lines(LISTENING).get(n - 1));
            assertThat(m.find()).isTrue();
            return Integer.parseInt(m.group(1));
        }

        void awaitLine(Pattern pattern) {
            await().atMost(WAIT)
                    .failFast("the process exited; see " + stdout.toAbsolutePath(), () -> !process.isAlive())
                    .untilAsserted(() -> assertThat(lines(pattern))
                            .as("a line matching %s in%n%s", pattern, this)
                            .isNotEmpty());
        }

        /**
         * Waits for the config watcher's thread. Main starts it right after logging the listeners, and the watcher
         * takes the file's content as its baseline before that thread exists: a change made earlier would go unseen.
         */
        void awaitFileWatcher() {
            // Linux gives each Java thread its name, cut to 15 characters.
            await().atMost(WAIT).until(() -> threadNames().contains("strait-config-w"));
        }

        private List<String> threadNames() throws IOException {
            List<String> names = new ArrayList<>();
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
                for (Path task : tasks.toList()) {
                    try {
                        names.add(Files.readString(task.resolve("comm")).strip());
                    } catch (IOException e) {
                        // the thread ended meanwhile
                    }
                }
            }
            return names;
        }

        /** Sends a signal with kill(1), e.g. "HUP". */
        void signal(String name) throws IOException, InterruptedException {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                    .redirectErrorStream(true)
                    .start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS))
                    .as("kill -%s returns", name)
                    .isTrue();
            assertThat(kill.exitValue()).as("kill -%s exit code", name).isZero();
        }

        void terminateAndAssertCleanExit() throws Exception {
            signal("TERM");
            assertThat(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .as("exits after SIGTERM:%n%s", this)
                    .isTrue();
            assertThat(process.exitValue())
                    .as("exit code after SIGTERM:%n%s", this)
                    .isZero();
            assertThat(text(stdout)).as("stdout").doesNotContain("LEAK:");
            assertThat(text(stderr)).as("stderr").isEmpty();
        }

        /** The complete stdout lines (a line still being written is left out) in which the pattern is found. */
        List<String> lines(Pattern pattern) throws IOException {
            String all = text(stdout);
            int end = all.lastIndexOf('\n');
            return end < 0
                    ? List.of()
                    : all.substring(0, end)
                            .lines()
                            .filter(l -> pattern.matcher(l).find())
                            .toList();
        }

        private static String text(Path file) throws IOException {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            try {
                return "--- stdout (" + stdout + "):\n" + text(stdout) + "\n--- stderr:\n" + text(stderr);
            } catch (IOException e) {
                return "(cannot read " + stdout + ": " + e + ")";
            }
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
