package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.SpliceMode;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Transports;
import dev.strait.server.support.Waits;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Splice mode on epoll, over real loopback sockets: what splice must keep from the copying relay (every byte before a
 * FIN, byte counts, the idle timeout) and what it must not leak (the pipes).
 */
class SpliceIT {
    private static final RelayMode SPLICE = new RelayMode(TransportKind.EPOLL, SpliceMode.ALWAYS);
    private static final long BULK = 16L * 1024 * 1024;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @BeforeAll
    static void epollRuns() {
        assertThat(Transports.available())
                .as("splice needs epoll, which CI's Linux runs")
                .contains(TransportKind.EPOLL);
    }

    /**
     * Netty reports a spliced channel's FIN after one bounded splice pass, while megabytes may still sit in the socket;
     * the relay must pass the FIN on only after they are spliced. The backend holds off reading until the client has
     * sent everything and its FIN (or 2s have passed), so the FIN arrives with the socket full.
     */
    @Test
    void passesTheClientsFinOnOnlyAfterEveryQueuedByteIsSpliced() throws Exception {
        CompletableFuture<Void> clientDone = new CompletableFuture<>();
        CompletableFuture<Bytes.Digest> backendSaw = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        Waits.untilDoneOrBlocked(clientDone, Duration.ofSeconds(2));
                        backendSaw.complete(Bytes.readAll(socket.getInputStream()));
                    }
                });
                RunningProxy proxy = RunningProxy.start(SPLICE, backend.address());
                Socket client = proxy.connect()) {
            String sent = Bytes.writeRandom(client.getOutputStream(), BULK, 64 * 1024, 21);
            client.shutdownOutput();
            clientDone.complete(null);

            Bytes.Digest saw = backendSaw.get(30, TimeUnit.SECONDS);
            assertThat(saw.count()).isEqualTo(BULK);
            assertThat(saw.sha256()).isEqualTo(sent);
            assertThat(Clients.closedByPeer(client.getInputStream()))
                    .as("the backend's FIN reaches the client")
                    .isTrue();
        }
    }

    /** The same from the backend's side: it writes and closes at once, and the client reads only afterwards. */
    @Test
    void deliversEverythingABackendWroteBeforeClosingToAClientThatReadsLate() throws Exception {
        CompletableFuture<Void> backendDone = new CompletableFuture<>();
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        backendSent.complete(Bytes.writeRandom(socket.getOutputStream(), BULK, 64 * 1024, 22));
                    }
                    backendDone.complete(null);
                });
                RunningProxy proxy = RunningProxy.start(SPLICE, backend.address());
                Socket client = proxy.connect()) {
            Waits.untilDoneOrBlocked(backendDone, Duration.ofSeconds(2));

            Bytes.Digest got = Bytes.readAll(client.getInputStream());

            assertThat(got.count()).isEqualTo(BULK);
            assertThat(got.sha256()).isEqualTo(backendSent.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void countsSplicedBytesInBothDirections() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(SPLICE, backend.address());
                Socket client = proxy.connect()) {
            Future<Bytes.Digest> echoed = pool.submit(() -> Bytes.readAll(client.getInputStream()));
            String sent = Bytes.writeRandom(client.getOutputStream(), BULK, 64 * 1024, 23);

            await().atMost(Duration.ofSeconds(30)).until(() -> connection(proxy).bytesFromBackend() == BULK);
            ProxiedConnection connection = connection(proxy);
            assertThat(connection.bytesFromClient()).isEqualTo(BULK);
            assertThat(connection.bytesSpliced())
                    .as("most of it moved by splice, not by copying")
                    .isGreaterThan(BULK);

            client.shutdownOutput();
            Bytes.Digest got = echoed.get(30, TimeUnit.SECONDS);
            assertThat(got.count()).isEqualTo(BULK);
            assertThat(got.sha256()).isEqualTo(sent);
        }
    }

    @Test
    void closesEveryPipeWithItsConnection() throws Exception {
        long pipesBefore = openPipes();
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(SPLICE, backend.address())) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    Socket client = proxy.connect();
                    clients.add(client);
                    byte[] chunk = new byte[64 * 1024];
                    client.getOutputStream().write(chunk);
                    client.getOutputStream().write(chunk);
                    Bytes.readExactly(client.getInputStream(), 2 * chunk.length);
                }
                assertThat(openPipes() - pipesBefore)
                        .as("a pipe (2 fds) per spliced direction while the connections live")
                        .isGreaterThanOrEqualTo(4L * 50);
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> proxy.server().connections().size() == 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> openPipes() <= pipesBefore);
        }
    }

    /** Spliced bytes bypass the pipeline; the idle timeout must still see them as traffic. */
    @Test
    void keepsASplicingConnectionOpenPastTheIdleTimeoutAndClosesItOnceSilent() throws Exception {
        Duration idle = Duration.ofMillis(400);
        Timeouts timeouts = new Timeouts(
                Timeouts.DEFAULT_CONNECT, idle, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(SPLICE, timeouts, WaterMark.DEFAULT, backend.address());
                Socket client = proxy.connect()) {
            InputStream in = client.getInputStream();
            OutputStream out = client.getOutputStream();
            byte[] chunk = new byte[256 * 1024];
            long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            while (System.nanoTime() < until) {
                out.write(chunk);
                Bytes.readExactly(in, chunk.length);
            }
            assertThat(connection(proxy).bytesSpliced())
                    .as("the traffic was spliced")
                    .isGreaterThan(0);

            long silentSince = System.nanoTime();
            assertThat(Clients.closedByPeer(in)).as("closed once silent").isTrue();
            long closedAfterMillis =
                    Duration.ofNanos(System.nanoTime() - silentSince).toMillis();
            assertThat(closedAfterMillis)
                    .as("a silent spliced connection closes between one and two idle timeouts (plus slack)")
                    .isBetween(idle.toMillis() - 50, 2 * idle.toMillis() + 1000);
        }
    }

    @Test
    void closesBothSidesWhenTheBackendResetsMidSplice() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    Bytes.readExactly(socket.getInputStream(), 1024 * 1024);
                    socket.setSoLinger(true, 0);
                    socket.close(); // RST
                });
                RunningProxy proxy = RunningProxy.start(SPLICE, backend.address())) {
            try (Socket client = proxy.connect()) {
                Future<Boolean> writes = pool.submit(() -> writeUntilFailure(client.getOutputStream(), 4096));
                assertThat(Clients.closedByPeer(client.getInputStream()))
                        .as("the proxy closes the client")
                        .isTrue();
                assertThat(writes.get(30, TimeUnit.SECONDS))
                        .as("the client's writes fail once the proxy closed it")
                        .isTrue();
            }
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }

    private static boolean writeUntilFailure(OutputStream out, int maxChunks) {
        byte[] chunk = new byte[64 * 1024];
        try {
            for (int i = 0; i < maxChunks; i++) {
                out.write(chunk);
            }
            return false;
        } catch (IOException expected) {
            return true;
        }
    }

    private static ProxiedConnection connection(RunningProxy proxy) {
        List<ProxiedConnection> live = proxy.server().connections().snapshot();
        assertThat(live).hasSize(1);
        return live.get(0);
    }

    private static long openPipes() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                        try {
                            return Files.readSymbolicLink(fd).toString().startsWith("pipe:");
                        } catch (IOException gone) {
                            return false;
                        }
                    })
                    .count();
        }
    }
}
