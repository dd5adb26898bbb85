package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * Drain and reload of the packaged jar with 20 live streams (each a client echoing seeded random chunks through
 * Strait and checking every byte that comes back): SIGTERM whose {@code shutdownTimeout} is reached (streams that end
 * during the drain end byte-exact, the rest are closed at the deadline, exit 0); SIGHUP with an invalid file (the
 * running config stays, no stream breaks); SIGHUP adding and removing routes (no stream breaks, the new route serves,
 * the removed one refuses new clients).
 */
class JarDrainReloadIT {
    private static final int STREAMS = 20;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @TempDir
    Path dir;

    @Test
    void sigtermClosesTheStreamsLeftAtTheDrainDeadlineAndExitsZero() throws Exception {
        Duration deadline = Duration.ofSeconds(5);
        // Restartable: at the deadline a connection is cut with the backend's echo still unread by the proxy, and the
        // kernel turns that close into a reset, which a strict backend would report as a failure.
        try (LoopbackBackend backend = LoopbackBackend.restartable(LoopbackBackend.echoHandler())) {
            Path config = write("drain.yaml", "shutdownTimeout: 5s\n" + routes(entry("drain", backend)));
            try (StraitJar strait = StraitJar.start("drain-deadline", "--config", config.toString())) {
                int port = strait.awaitListening(1);
                List<EchoStream> streams = startStreams(port, STREAMS);
                awaitTraffic(streams);

                long signalled = System.nanoTime();
                strait.signal("TERM");
                strait.awaitLine(Pattern.compile("draining " + STREAMS + " connection\\(s\\)"));
                List<EchoStream> finishing = streams.subList(0, STREAMS / 2);
                List<EchoStream> lingering = streams.subList(STREAMS / 2, STREAMS);
                for (EchoStream s : streams) {
                    s.awaitMoreTraffic(); // every stream still relays during the drain
                }
                for (EchoStream s : finishing) {
                    assertThat(s.finish())
                            .as("a stream that ended during the drain")
                            .isEqualTo("byte-exact");
                }
                for (EchoStream s : lingering) {
                    assertThat(s.awaitEnd())
                            .as("a stream still open at the deadline is closed by the proxy")
                            .isEqualTo("closed by the proxy");
                }
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
                assertThat(millis)
                        .as("the lingering streams were closed at the drain deadline (ms after SIGTERM)")
                        .isGreaterThanOrEqualTo(deadline.toMillis() * 9 / 10);
                assertThat(strait.exited(Duration.ofSeconds(15)))
                        .as("exits soon after the deadline:%n%s", strait)
                        .isTrue();
                assertThat(strait.process().exitValue())
                        .as("exit code:%n%s", strait)
                        .isZero();
                assertThat(strait.stdout()).doesNotContain("LEAK:");
                assertThat(strait.stderr()).as("stderr").isEmpty();
                System.out.printf(
                        "drain: %d streams ended byte-exact, %d closed %d ms after SIGTERM (shutdownTimeout %s)%n",
                        finishing.size(), lingering.size(), millis, deadline);
            }
        }
    }

    @Test
    void sighupWithAnInvalidFileUnderLoadKeepsTheRunningConfigAndEveryStream() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = write("invalid.yaml", routes(entry("steady", backend)));
            try (StraitJar strait = StraitJar.start("reload-invalid", "--config", config.toString())) {
                int port = strait.awaitListening(1);
                List<EchoStream> streams = startStreams(port, STREAMS);
                awaitTraffic(streams);

                Files.writeString(config, "routes:\n  - name: steady\n    listen: [not, a, port\n");
                strait.signal("HUP");
                strait.awaitLine(Pattern.compile("reload rejected"));
                for (EchoStream s : streams) {
                    s.awaitMoreTraffic();
                }
                try (Socket fresh = Clients.connect(port)) {
                    Clients.assertEchoes(fresh, "the running config serves");
                }
                for (EchoStream s : streams) {
                    assertThat(s.finish())
                            .as("a stream across the rejected reload")
                            .isEqualTo("byte-exact");
                }
                assertThat(strait.lines(Pattern.compile("reload rejected"))).hasSize(1);
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    @Test
    void sighupAddingAndRemovingRoutesUnderLoadKeepsEveryStreamByteExact() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = write("routes.yaml", routes(entry("kept", backend), entry("removed", backend)));
            try (StraitJar strait = StraitJar.start("reload-routes", "--config", config.toString())) {
                int kept = strait.awaitListening(1);
                int removed = strait.awaitListening(2);
                List<EchoStream> streams = new ArrayList<>(startStreams(kept, STREAMS / 2));
                streams.addAll(startStreams(removed, STREAMS / 2));
                awaitTraffic(streams);

                Files.writeString(config, routes(entry("kept", backend), entry("added", backend)));
                strait.signal("HUP");
                int added = strait.awaitListening(3);
                strait.awaitLine(Pattern.compile("reloaded .*routes\\.yaml \\(SIGHUP\\)"));
                for (EchoStream s : streams) {
                    s.awaitMoreTraffic(); // the removed route's connections run on
                }
                try (Socket fresh = Clients.connect(added)) {
                    Clients.assertEchoes(fresh, "the added route serves");
                }
                try (Socket fresh = Clients.connect(kept)) {
                    Clients.assertEchoes(fresh, "the kept route serves");
                }
                await("the removed route stops accepting")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> Clients.isRefused(removed));
                for (EchoStream s : streams) {
                    assertThat(s.finish()).as("a stream across the reload").isEqualTo("byte-exact");
                }
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    private Path write(String name, String yaml) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        return file;
    }

    private static String routes(String... entries) {
        return "routes:\n" + String.join("", entries);
    }

    /** One entry of {@code routes:}, listening on 127.0.0.1:0. */
    private static String entry(String name, LoopbackBackend backend) {
        return """
                  - name: %s
                    listen: 127.0.0.1:0
                    backends: ["%s"]
                """
                .formatted(name, backend.address());
    }

    private static List<EchoStream> startStreams(int port, int count) throws IOException {
        List<EchoStream> streams = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            EchoStream s = new EchoStream(Clients.connect(port), i);
            s.running = pool.submit(s::run);
            streams.add(s);
        }
        return streams;
    }

    private static void awaitTraffic(List<EchoStream> streams) {
        for (EchoStream s : streams) {
            s.awaitMoreTraffic();
        }
    }

    /**
     * One client that writes a seeded random chunk, reads it back in full and compares, over and over, until told to
     * finish (then it half-closes and expects the proxy's FIN) or the connection ends.
     */
    private static final class EchoStream {
        private final Socket socket;
        private final SplittableRandom random;
        private final AtomicBoolean finishing = new AtomicBoolean();
        private final AtomicLong echoed = new AtomicLong();
        private Future<String> running;

        EchoStream(Socket socket, long seed) {
            this.socket = socket;
            this.random = new SplittableRandom(seed);
        }

        /** How it ended: "byte-exact", "closed by the proxy", or what went wrong. */
        String run() throws IOException {
            try (socket) {
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                while (!finishing.get()) {
                    byte[] chunk = new byte[1 + random.nextInt(8192)];
                    random.nextBytes(chunk);
                    try {
                        out.write(chunk);
                        byte[] back = Bytes.readExactly(in, chunk.length);
                        if (!Arrays.equals(chunk, back)) {
                            return "corrupted after " + echoed.get() + " bytes";
                        }
                    } catch (IOException closed) { // a reset, or the stream ended before the whole echo
                        return "closed by the proxy";
                    }
                    echoed.addAndGet(chunk.length);
                }
                socket.shutdownOutput();
                return in.read() < 0 ? "byte-exact" : "bytes after the last echo";
            }
        }

        void awaitMoreTraffic() {
            long now = echoed.get();
            await("stream traffic")
                    .atMost(Duration.ofSeconds(30))
                    .failFast("the stream ended", running::isDone)
                    .until(() -> echoed.get() > now);
        }

        String finish() throws Exception {
            finishing.set(true);
            return running.get(30, TimeUnit.SECONDS);
        }

        String awaitEnd() throws Exception {
            return running.get(30, TimeUnit.SECONDS);
        }
    }
}
