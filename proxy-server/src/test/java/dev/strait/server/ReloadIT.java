package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.strait.config.ConfigException;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.config.ConfigLoader;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reloads under load: 200 connections stream checksummed data through route A while a route is added, a backend is
 * removed and an invalid file is rejected. Every stream must complete byte-exact.
 */
class ReloadIT {
    private static final int STREAMS = 200;
    private static final int CHUNK = 256 * 1024;
    private static final int CHUNKS = 16; // 4 MiB each way per connection
    /** No stream sends its second half before the reloads are done, so every one of them is live across all three. */
    private static final int CHUNKS_BEFORE_RELOADS_END = CHUNKS / 2;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @TempDir
    Path dir;

    @Test
    void keepsTwoHundredStreamsByteExactAcrossThreeReloads() throws Exception {
        try (LoopbackBackend x = LoopbackBackend.echo();
                LoopbackBackend y = LoopbackBackend.echo();
                LoopbackBackend z = LoopbackBackend.echo()) {
            Route a = Route.of("A", new HostAndPort("127.0.0.1", 0), List.of(hostAndPort(x), hostAndPort(y)));
            ProxyConfig initial = RunningProxy.config(TransportKind.AUTO, List.of(a));
            ProxyServer server = ProxyServer.start(initial);
            try {
                InetSocketAddress routeA = server.boundAddress("A");
                CountDownLatch relaying = new CountDownLatch(STREAMS);
                CountDownLatch reloadsDone = new CountDownLatch(1);
                List<Future<Outcome>> streams = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    long seed = i;
                    streams.add(pool.submit(() -> stream(routeA, seed, relaying, reloadsDone)));
                }
                assertThat(relaying.await(60, TimeUnit.SECONDS))
                        .as("all %d streams relaying their first chunk", STREAMS)
                        .isTrue();
                assertThat(server.connections().size()).isEqualTo(STREAMS);
                Set<Integer> onY = clientPortsRelayingTo(server, y);
                assertThat(onY).as("streams the balancer sent to backend Y").isNotEmpty();

                // 1: a route added.
                Route b = Route.of("B", new HostAndPort("127.0.0.1", 0), List.of(hostAndPort(z)));
                ProxyConfig withB = RunningProxy.config(TransportKind.AUTO, List.of(a, b));
                server.reload(withB);
                try (Socket client = connect(server.boundAddress("B"))) {
                    assertRelaysByteExact(client, 1024 * 1024, -1);
                }
                assertThat(z.acceptedCount()).isEqualTo(1);
                assertThat(server.boundAddress("A")).isEqualTo(routeA);

                // 2: backend Y removed from A; its live streams run on.
                Route aWithoutY = Route.of("A", new HostAndPort("127.0.0.1", 0), List.of(hostAndPort(x)));
                ProxyConfig withoutY = RunningProxy.config(TransportKind.AUTO, List.of(aWithoutY, b));
                server.reload(withoutY);
                int yAccepted = y.acceptedCount();
                int xAccepted = x.acceptedCount();
                for (int i = 0; i < 10; i++) {
                    try (Socket client = connect(routeA)) {
                        assertRelaysByteExact(client, 64 * 1024, -2 - i);
                    }
                }
                assertThat(y.acceptedCount())
                        .as("new connections to the removed backend Y")
                        .isEqualTo(yAccepted);
                assertThat(x.acceptedCount()).isEqualTo(xAccepted + 10);
                assertThat(clientPortsRelayingTo(server, y))
                        .as("streams still relaying to the removed backend Y")
                        .isEqualTo(onY);

                // 3: an invalid file: rejected before it reaches the server, which keeps running as it was.
                Path file = Files.writeString(dir.resolve("strait.yaml"), "routes:\n  - name: [A\n");
                assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(file))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining(file.toString())
                        .hasMessageContaining("not valid YAML");
                // ...and a valid file whose new listener cannot bind: the reload changes nothing.
                try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                    Route c =
                            Route.of("C", new HostAndPort("127.0.0.1", taken.getLocalPort()), List.of(hostAndPort(z)));
                    ProxyConfig clash = RunningProxy.config(TransportKind.AUTO, List.of(aWithoutY, b, c));
                    assertThatThrownBy(() -> server.reload(clash))
                            .isInstanceOf(StartException.class)
                            .hasMessageContaining("route C");
                }
                assertThat(server.config()).isSameAs(withoutY);
                assertThat(server.routeMetrics().keySet()).containsExactly("A", "B");
                assertThat(server.boundAddress("A")).isEqualTo(routeA);
                assertThat(server.backends("A")).hasSize(1);

                reloadsDone.countDown();
                List<Outcome> outcomes = new ArrayList<>();
                for (Future<Outcome> stream : streams) {
                    outcomes.add(stream.get(120, TimeUnit.SECONDS));
                }
                long failedChecksums = outcomes.stream()
                        .filter(o -> o.error() == null && !o.sent().equals(o.received()))
                        .count();
                List<String> dropped = outcomes.stream()
                        .filter(o -> o.error() != null)
                        .map(Outcome::error)
                        .toList();
                assertThat(dropped).as("dropped connections").isEmpty();
                assertThat(failedChecksums).as("failed checksums").isZero();
                assertThat(outcomes)
                        .as("every stream echoed all %d bytes", CHUNK * CHUNKS)
                        .allMatch(o -> o.count() == (long) CHUNK * CHUNKS);
                assertThat(outcomes.stream().filter(o -> onY.contains(o.clientPort())))
                        .as("completed streams on the removed backend Y")
                        .hasSameSizeAs(onY);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> server.connections().size() == 0);
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }

    /** What one stream saw: SHA-256 sent and received, bytes received, or the error that dropped it. */
    private record Outcome(int clientPort, String sent, String received, long count, String error) {}

    /**
     * Streams {@value #CHUNKS} random chunks through route A and reads the echo at the same time; pauses after the
     * first half until the reloads are done.
     */
    private static Outcome stream(
            InetSocketAddress routeA, long seed, CountDownLatch relaying, CountDownLatch reloadsDone) throws Exception {
        try (Socket socket = connect(routeA)) {
            Future<String[]> echoed = pool.submit(() -> readAll(socket.getInputStream(), relaying));
            MessageDigest sent = MessageDigest.getInstance("SHA-256");
            SplittableRandom random = new SplittableRandom(seed);
            byte[] chunk = new byte[CHUNK];
            OutputStream out = socket.getOutputStream();
            try {
                for (int i = 0; i < CHUNKS; i++) {
                    if (i == CHUNKS_BEFORE_RELOADS_END && !reloadsDone.await(120, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("the reloads did not finish in 120s");
                    }
                    random.nextBytes(chunk);
                    out.write(chunk);
                    sent.update(chunk);
                }
                socket.shutdownOutput();
                String[] got = echoed.get(120, TimeUnit.SECONDS);
                return new Outcome(
                        socket.getLocalPort(),
                        HexFormat.of().formatHex(sent.digest()),
                        got[0],
                        Long.parseLong(got[1]),
                        null);
            } catch (Exception e) {
                return new Outcome(socket.getLocalPort(), "", "", -1, e.toString());
            }
        }
    }

    /** Reads to end of stream; counts down {@code relaying} once the first chunk is back. */
    private static String[] readAll(InputStream in, CountDownLatch relaying) throws IOException {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[64 * 1024];
        long count = 0;
        boolean counted = false;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            digest.update(buffer, 0, n);
            count += n;
            if (!counted && count >= CHUNK) {
                relaying.countDown();
                counted = true;
            }
        }
        return new String[] {HexFormat.of().formatHex(digest.digest()), Long.toString(count)};
    }

    private static Set<Integer> clientPortsRelayingTo(ProxyServer server, LoopbackBackend backend) {
        return server.connections().snapshot().stream()
                .filter(c -> c.backend() instanceof InetSocketAddress b && b.getPort() == backend.port())
                .map(ProxiedConnection::client)
                .map(a -> ((InetSocketAddress) a).getPort())
                .collect(Collectors.toSet());
    }

    private static void assertRelaysByteExact(Socket socket, int bytes, long seed) throws Exception {
        Future<String> echoed = pool.submit(
                () -> HexFormat.of().formatHex(sha256().digest(Bytes.readExactly(socket.getInputStream(), bytes))));
        String sent = Bytes.writeRandom(socket.getOutputStream(), bytes, 64 * 1024, seed);
        assertThat(echoed.get(30, TimeUnit.SECONDS))
                .as("SHA-256 of %d bytes echoed", bytes)
                .isEqualTo(sent);
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(60_000);
        return socket;
    }

    private static HostAndPort hostAndPort(LoopbackBackend backend) {
        return HostAndPort.parse("backend", backend.address());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
