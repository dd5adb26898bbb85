package dev.strait.server;

import static dev.strait.server.support.Clients.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live reload of the packaged jar as users trigger it: SIGHUP (a new route binds, a live stream keeps relaying
 * byte-exact, an invalid or oversized file is rejected and the running routes stay) and {@code --watch} (a file change alone is
 * enough). Each run ends with SIGTERM, exit 0 and no Netty leak report in its stdout, which is kept under
 * {@code target/reload-signal-it/}.
 */
class ReloadSignalIT {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) -> ");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @TempDir
    Path dir;

    @Test
    void sighupAddsARouteKeepsALiveStreamByteExactAndRejectsInvalidAndOversizedFiles() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = dir.resolve("strait.yaml");
            Files.writeString(config, routes(backend, "first"));
            try (StraitJar strait = StraitJar.start("sighup", "--config", config.toString())) {
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

                    Files.writeString(config, routes(backend, "first") + "#".repeat(2 * 1024 * 1024) + "\n");
                    strait.signal("HUP");
                    strait.awaitLine(Pattern.compile("reload rejected.*the limit is 1048576 bytes"));
                    assertThat(echo(second, "an oversized file changes nothing"))
                            .isEqualTo("an oversized file changes nothing");
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
            try (StraitJar strait = StraitJar.start("watch", "--watch", "--config", config.toString())) {
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

    @Test
    void reloadLogsOnlyWhatRunsWhatTookEffectAndWhatChanged() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                LoopbackBackend other = LoopbackBackend.echo();
                ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path config = dir.resolve("strait.yaml");
            String first = routes(backend, "first");
            Files.writeString(config, "workers: 1\n" + first);
            try (StraitJar strait = StraitJar.startAsGiven("reload-truth", "--config", config.toString())) {
                strait.awaitListening(1);

                Files.writeString(config, "workers: 2\nadmin:\n  listen: 127.0.0.1:0\n" + first);
                strait.signal("HUP");
                strait.awaitLine(
                        Pattern.compile("reload: workers changed from 1 to 2; that takes a restart, keeping 1"));
                strait.awaitLine(Pattern.compile("reload: admin changed from none to 127\\.0\\.0\\.1:0; that takes a"
                        + " restart, keeping none"));

                Files.writeString(config, "workers: 3\n" + first);
                strait.signal("HUP");
                strait.awaitLine(
                        Pattern.compile("reload: workers changed from 1 to 3; that takes a restart, keeping 1"));

                // "second" binds, then "third" cannot: the reload is undone, and "second" never said it listened.
                Files.writeString(
                        config,
                        "workers: 1\n" + first + "  - name: second\n    listen: 127.0.0.1:0\n    backends: [\""
                                + backend.address() + "\"]\n  - name: third\n    listen: 127.0.0.1:"
                                + taken.getLocalPort() + "\n    backends: [\"" + backend.address() + "\"]\n");
                strait.signal("HUP");
                strait.awaitLine(Pattern.compile("reload rejected.*" + taken.getLocalPort()));

                Files.writeString(
                        config,
                        "workers: 1\n"
                                + first.replace(
                                        "[\"" + backend.address() + "\"]",
                                        "[\"" + backend.address() + "\", \"" + other.address() + "\"]"));
                strait.signal("HUP");
                strait.awaitLine(Pattern.compile("route first: updated backends " + Pattern.quote(backend.address())
                        + " -> " + Pattern.quote(backend.address() + "," + other.address())
                        + "; new connections use the new settings"));

                assertThat(strait.lines(LISTENING))
                        .as("only the first route ever listened:%n%s", strait)
                        .hasSize(1);
                assertThat(strait.lines(Pattern.compile("Optional"))).isEmpty();
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
}
