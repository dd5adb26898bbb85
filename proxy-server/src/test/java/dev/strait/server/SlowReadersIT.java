package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.ProxyConfig;
import dev.strait.config.SpliceMode;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.relay.RelayHandler;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Many clients that stop reading while their backends keep pushing. For {@code HOLD} seconds (30, or
 * {@code -Dstrait.slowReadersHold=S}) 200 clients ({@code -Dstrait.slowReaders=N}) read nothing: the proxy's direct
 * memory (Netty's allocator, the in-process proxy being the only Netty user here) must stay under
 * {@code clients x (writeBufferWaterMark.high + one 64 KiB read buffer)} and flat. Then the readers resume: every
 * stream arrives byte-exact and, once flushed, every connection has resumed its backend's reads as often as it paused
 * them. Copying only ({@code splice: off}), since spliced bytes never enter the proxy's memory. The 1,000-client,
 * 10-minute version is {@code CONNS=1000 HOLD=600 bench/slow-readers}; over TLS, {@code PROXIES=strait-tls-jdk}.
 */
class SlowReadersIT {
    private static final int CLIENTS = Integer.getInteger("strait.slowReaders", 200);
    private static final int HOLD_SECONDS = Integer.getInteger("strait.slowReadersHold", 30);
    private static final int READ_BUFFER = 64 * 1024;
    private static final int CHUNK = 16 * 1024;
    /** The largest TLS record on the wire: 16 KiB of plaintext, its header and up to 256 bytes of expansion. */
    private static final int TLS_RECORD = 16 * 1024 + 5 + 256;

    @TempDir
    static Path dir;

    @Test
    void directMemoryStaysBoundedAndFlatWhileClientsStopReading() throws Exception {
        run(null);
    }

    /**
     * The same over a route that terminates TLS: each client handshakes, sends its stream id and stops reading; each
     * connection may hold one TLS record more (what the engine wrapped while the socket would not take it). The JDK's
     * engine encrypts into heap buffers, so direct memory holds the plaintext side only; OpenSSL's (what {@code auto}
     * picks) encrypts into direct buffers, so the wrapped copy of the high-water mark's bytes is counted there too.
     */
    @ParameterizedTest
    @EnumSource(names = {"JDK", "OPENSSL"})
    void directMemoryStaysBoundedAndFlatWhileTlsClientsStopReading(TlsProvider provider) throws Exception {
        run(provider);
    }

    /** @param provider the TLS engine of a terminating route; null: a plain route */
    private void run(TlsProvider provider) throws Exception {
        boolean tls = provider != null;
        WaterMark marks = WaterMark.DEFAULT;
        long perConnection = marks.high() + READ_BUFFER;
        if (tls) {
            perConnection += TLS_RECORD;
        }
        if (provider == TlsProvider.OPENSSL) {
            perConnection += marks.high() + TLS_RECORD; // the ciphertext, in direct buffers with this engine
        }
        long bound = CLIENTS * perConnection;
        TestPki pki = tls ? TestPki.create(dir, "ca-" + System.nanoTime()) : null;
        Issued cert = tls ? pki.issue("server-" + System.nanoTime(), "slow.test", KeyForm.PKCS8_EC, "slow.test") : null;
        AtomicBoolean stop = new AtomicBoolean();
        Map<Integer, String> sentDigests = new ConcurrentHashMap<>();
        ExecutorService readers = Executors.newFixedThreadPool(CLIENTS);
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        List<Socket> clients = new ArrayList<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> push(socket, stop, sentDigests));
                RunningProxy proxy = RunningProxy.start(copyOnly(backend.address(), cert, provider))) {
            SSLContext context = tls ? TestPki.clientContext(pki.caCert(), null) : null;
            for (int i = 0; i < CLIENTS; i++) {
                Socket client = new Socket();
                client.setReceiveBufferSize(4096); // the kernel doubles it; small, so the proxy's buffers fill
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 5000);
                client.setSoTimeout(120_000);
                if (tls) {
                    SSLSocket secure = (SSLSocket)
                            context.getSocketFactory().createSocket(client, "slow.test", proxy.port(), true);
                    secure.startHandshake();
                    client = secure;
                }
                client.getOutputStream().write(StreamId.of(i)); // tells the backend which stream this is
                clients.add(client);
            }
            List<RelayHandler> toClients = new ArrayList<>();
            await("every connection relayed").atMost(Duration.ofSeconds(60)).until(() -> {
                toClients.clear();
                for (ProxiedConnection c : proxy.server().liveConnections()) {
                    RelayHandler relay = c.frontend().pipeline().get(RelayHandler.class);
                    if (relay != null) {
                        toClients.add(relay);
                    }
                }
                return toClients.size() == CLIENTS;
            });

            List<Long> samples = new CopyOnWriteArrayList<>();
            ScheduledFuture<?> sampling =
                    sampler.scheduleAtFixedRate(() -> samples.add(usedDirectMemory()), 0, 1, TimeUnit.SECONDS);
            sampler.schedule(() -> sampling.cancel(false), HOLD_SECONDS, TimeUnit.SECONDS)
                    .get(); // the hold is a fixed duration, not a wait for a condition
            long max = samples.stream().mapToLong(Long::longValue).max().orElseThrow();
            List<Long> late = samples.subList(samples.size() / 3, samples.size());
            long lateMin = late.stream().mapToLong(Long::longValue).min().orElseThrow();
            long lateMax = late.stream().mapToLong(Long::longValue).max().orElseThrow();
            System.out.printf(
                    "%d slow %sreaders for %ds: direct memory max %d KiB (bound %d KiB), after warm-up %d..%d KiB;"
                            + " samples (KiB) %s%n",
                    CLIENTS,
                    tls ? "TLS (" + provider.configName() + ") " : "",
                    HOLD_SECONDS,
                    max / 1024,
                    bound / 1024,
                    lateMin / 1024,
                    lateMax / 1024,
                    samples.stream().map(s -> s / 1024).toList());
            assertThat(max).as("the proxy's direct memory (bytes)").isLessThanOrEqualTo(bound);
            assertThat(lateMax - lateMin)
                    .as("growth of direct memory after the first third of the hold (bytes): flat")
                    .isLessThanOrEqualTo(bound / 10);
            long paused = toClients.stream().filter(r -> r.pauses() > 0).count();
            assertThat(paused)
                    .as("connections whose full client buffer stopped the backend's reads")
                    .isEqualTo(CLIENTS);

            stop.set(true);
            List<Future<String>> received = new ArrayList<>();
            for (Socket client : clients) {
                received.add(readers.submit(() -> {
                    try (client) { // the client closes once it has everything, ending the half-closed pair
                        return sha256OfAll(client.getInputStream());
                    }
                }));
            }
            for (int i = 0; i < CLIENTS; i++) {
                String got = received.get(i).get(120, TimeUnit.SECONDS);
                assertThat(got).as("stream %d byte-exact", i).isEqualTo(sentDigests.get(i));
            }
            await("every connection closed")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> proxy.server().liveConnections().isEmpty());
            for (RelayHandler toClient : toClients) {
                assertThat(toClient.resumes())
                        .as("resumes == pauses once the reader took everything")
                        .isEqualTo(toClient.pauses());
            }
        } finally {
            stop.set(true);
            for (Socket client : clients) {
                client.close();
            }
            readers.shutdownNow();
            sampler.shutdownNow();
        }
    }

    private static ProxyConfig copyOnly(String backend, Issued tls, TlsProvider provider) {
        TestRoutes.Builder route = TestRoutes.route("test").backends(backend);
        if (tls != null) {
            TlsConfig config = TlsConfig.of(tls.cert(), tls.key());
            route.tls(new TlsConfig(
                    config.certificates(),
                    config.protocols(),
                    config.clientAuth(),
                    config.clientCa(),
                    config.alpn(),
                    config.handshakeTimeout(),
                    provider,
                    config.allowExpired()));
        }
        ProxyConfig base = RunningProxy.config(TransportKind.AUTO, List.of(route.build()));
        return new ProxyConfig(
                base.transport(),
                SpliceMode.OFF,
                base.workers(),
                base.backlog(),
                base.shutdownTimeout(),
                base.admin(),
                base.dns(),
                base.maxConnections(),
                base.routes());
    }

    private static long usedDirectMemory() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT)
                .metric()
                .usedDirectMemory();
    }

    /** The backend side: reads the stream's id, then writes seeded random chunks until told to stop, then a FIN. */
    private static void push(Socket socket, AtomicBoolean stop, Map<Integer, String> sentDigests) throws IOException {
        try (socket) {
            socket.setSendBufferSize(64 * 1024);
            int id = StreamId.read(socket.getInputStream());
            SplittableRandom random = new SplittableRandom(id);
            MessageDigest sha = Bytes.sha256();
            byte[] chunk = new byte[CHUNK];
            OutputStream out = socket.getOutputStream();
            while (!stop.get()) {
                random.nextBytes(chunk);
                out.write(chunk);
                sha.update(chunk);
            }
            sentDigests.put(id, HexFormat.of().formatHex(sha.digest())); // before the FIN the client waits for
            socket.shutdownOutput();
            socket.getInputStream().transferTo(OutputStream.nullOutputStream()); // until the proxy closes
        }
    }

    private static String sha256OfAll(InputStream in) throws IOException {
        MessageDigest sha = Bytes.sha256();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            sha.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** A stream's id as the 4 bytes a client sends first. */
    private static final class StreamId {
        static byte[] of(int id) {
            return new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id};
        }

        static int read(InputStream in) throws IOException {
            byte[] b = Bytes.readExactly(in, 4);
            return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        }
    }
}
