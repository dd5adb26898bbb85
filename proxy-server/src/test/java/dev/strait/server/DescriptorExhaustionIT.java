package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Descriptors running out must not break connections that are already relayed. The jar runs under
 * {@code prlimit --nofile=256} with the default {@code splice: auto}: a few sessions are established while they only
 * chat (copying), then a flood of clients uses up every descriptor, then each session sends a bulk transfer, which
 * makes its directions want a pipe (2 descriptors) for splice. There is none to be had: each must keep copying,
 * byte-exact, and the fallback must be logged; once the flood leaves, new clients are served again.
 * {@code -Dstrait.fdSessions=N} changes the number of established sessions (default 5).
 */
class DescriptorExhaustionIT {
    private static final int MAX_DESCRIPTORS = 256;
    private static final int SESSIONS = Integer.getInteger("strait.fdSessions", 5);
    private static final int FLOOD = 400;
    private static final int BULK = 256 * 1024;
    private static final Pattern ADMIN = Pattern.compile("admin listening on 127\\.0\\.0\\.1:(\\d+)");

    @Test
    void establishedSessionsKeepRelayingByteExactWhenDescriptorsRunOut() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        List<Socket> sessions = new ArrayList<>();
        List<Socket> flood = new ArrayList<>();
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait = StraitJar.startWithDescriptorLimit(
                        "fd-exhaustion",
                        MAX_DESCRIPTORS,
                        "--listen",
                        "127.0.0.1:0",
                        "--backend",
                        backend.address(),
                        "--admin",
                        "127.0.0.1:0")) {
            int port = strait.awaitListening(1);
            int admin = Integer.parseInt(strait.awaitStdout(ADMIN).group(1));
            for (int i = 0; i < SESSIONS; i++) {
                Socket session = Clients.connect(port);
                sessions.add(session);
                assertThat(Clients.echo(session, "hello " + i)).isEqualTo("hello " + i);
            }

            for (int i = 0; i < FLOOD; i++) {
                flood.add(connectOrNull(port));
            }
            await("Strait uses up its descriptors")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> openDescriptors(strait.process().pid()) >= MAX_DESCRIPTORS - 2);

            List<String> broken = new ArrayList<>();
            for (int i = 0; i < sessions.size(); i++) {
                Socket session = sessions.get(i);
                Future<Bytes.Digest> echoed = pool.submit(() -> readExactly(session, BULK));
                try {
                    String sent = Bytes.writeRandom(session.getOutputStream(), BULK, 16 * 1024, 40 + i);
                    Bytes.Digest got = echoed.get(60, TimeUnit.SECONDS);
                    if (got.count() != BULK || !got.sha256().equals(sent)) {
                        broken.add("session " + i + ": " + got.count() + " of " + BULK + " bytes echoed");
                    }
                } catch (IOException e) {
                    broken.add("session " + i + ": writing failed: " + e);
                } catch (ExecutionException e) {
                    broken.add("session " + i + ": " + e.getCause());
                }
            }
            assertThat(broken)
                    .as("established sessions that broke while descriptors were short")
                    .isEmpty();
            strait.awaitLine(Pattern.compile("no pipe for splice .*the connection keeps copying"));

            for (Socket s : flood) {
                if (s != null) {
                    s.close();
                }
            }
            await("a new client is served again once descriptors are free")
                    .atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .untilAsserted(() -> {
                        try (Socket fresh = Clients.connect(port)) {
                            fresh.setSoTimeout(2000);
                            assertThat(Clients.echo(fresh, "again")).isEqualTo("again");
                        }
                    });
            for (int i = 0; i < 20; i++) { // spread over every listener: no event loop was lost to the exhaustion
                try (Socket fresh = Clients.connect(port)) {
                    assertThat(Clients.echo(fresh, "fresh " + i)).isEqualTo("fresh " + i);
                }
            }
            assertThat(metric(admin, "strait_accept_errors_total{route=\"default\"}"))
                    .as("failed accepts while descriptors were short, counted")
                    .isPositive();
            assertThat(strait.stdout())
                    .as("a failed accept is one warning line, not a stack trace per attempt")
                    .contains("cannot accept new connections")
                    .doesNotContain("reached at the tail of the pipeline");
            assertThat(metric(admin, "strait_splice_fallbacks_total{route=\"default\"}"))
                    .as("directions that kept copying, counted")
                    .isPositive();
            for (Socket s : sessions) {
                s.close();
            }
            strait.terminateAndAssertCleanExit();
        } finally {
            for (Socket s : flood) {
                if (s != null) {
                    s.close();
                }
            }
            for (Socket s : sessions) {
                s.close();
            }
            pool.shutdownNow();
        }
    }

    /** A client that connects (the kernel completes it into the listener's backlog even if Strait cannot accept). */
    private static Socket connectOrNull(int port) {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return socket;
        } catch (IOException backlogFull) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to release
            }
            return null;
        }
    }

    private static Bytes.Digest readExactly(Socket socket, int n) throws IOException {
        byte[] data = Bytes.readExactly(socket.getInputStream(), n);
        return Bytes.digestOf(data);
    }

    private static long metric(int adminPort, String series) throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return response.body()
                .lines()
                .filter(line -> line.startsWith(series + " "))
                .mapToLong(line -> (long)
                        Double.parseDouble(line.substring(series.length() + 1).strip()))
                .findFirst()
                .orElseThrow(() -> new AssertionError(series + " not in /metrics:\n" + response.body()));
    }

    private static long openDescriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        }
    }
}
