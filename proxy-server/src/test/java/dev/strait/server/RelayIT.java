package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestThreads;
import dev.strait.server.support.Waits;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The relay over real loopback sockets, on every transport this machine runs, copying and (epoll) splicing. */
class RelayIT {
    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    static Stream<RelayMode> transports() {
        return RelayMode.available();
    }

    @Test
    void runsOnEpollAndNioAtLeastOnLinux() {
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertThat(transports().map(RelayMode::transport)).contains(TransportKind.EPOLL, TransportKind.NIO);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysBulkDataByteExactBothWaysOverManyConcurrentConnections(RelayMode mode) throws Exception {
        int connections = 32;
        long perDirection = 4L * 1024 * 1024; // 32 x 4 MiB each way = 256 MiB through the proxy
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(mode, backend.address())) {
            assertThat(proxy.server().transport().name())
                    .isEqualTo(mode.transport().configName());
            List<Future<String[]>> results = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                long seed = i;
                results.add(pool.submit(() -> {
                    try (Socket socket = proxy.connect()) {
                        Future<Bytes.Digest> echoed = pool.submit(() -> Bytes.readAll(socket.getInputStream()));
                        String sent = Bytes.writeRandom(socket.getOutputStream(), perDirection, 64 * 1024, seed);
                        socket.shutdownOutput();
                        Bytes.Digest got = echoed.get(60, TimeUnit.SECONDS);
                        return new String[] {sent, got.sha256(), Long.toString(got.count())};
                    }
                }));
            }
            for (Future<String[]> result : results) {
                String[] r = result.get(120, TimeUnit.SECONDS);
                assertThat(r[2]).isEqualTo(Long.toString(perDirection));
                assertThat(r[1]).isEqualTo(r[0]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysABannerFromABackendThatSpeaksFirst(RelayMode mode) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        OutputStream out = socket.getOutputStream();
                        out.write("SSH-2.0-OpenSSH_test\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        byte[] reply = Bytes.readExactly(socket.getInputStream(), 19);
                        out.write(reply);
                        out.flush();
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address());
                Socket client = proxy.connect()) {
            byte[] banner = Bytes.readExactly(client.getInputStream(), 22);
            assertThat(new String(banner, StandardCharsets.US_ASCII)).isEqualTo("SSH-2.0-OpenSSH_test\r\n");
            client.getOutputStream().write("SSH-2.0-client_test".getBytes(StandardCharsets.US_ASCII));
            byte[] echoed = Bytes.readExactly(client.getInputStream(), 19);
            assertThat(new String(echoed, StandardCharsets.US_ASCII)).isEqualTo("SSH-2.0-client_test");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysARequestFromAClientThatSpeaksFirst(RelayMode mode) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        byte[] request = Bytes.readExactly(socket.getInputStream(), 4);
                        socket.getOutputStream()
                                .write(("+" + new String(request, StandardCharsets.US_ASCII))
                                        .getBytes(StandardCharsets.US_ASCII));
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address());
                Socket client = proxy.connect()) {
            client.getOutputStream().write("PING".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("+PING");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysHalfCloseFromClientWhileTheBackendKeepsSending(RelayMode mode) throws Exception {
        long response = 8L * 1024 * 1024;
        CompletableFuture<String> backendSaw = new CompletableFuture<>();
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        backendSaw.complete(
                                Bytes.readAll(socket.getInputStream()).sha256()); // to the client's FIN
                        backendSent.complete(Bytes.writeRandom(socket.getOutputStream(), response, 32 * 1024, 7));
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address());
                Socket client = proxy.connect()) {
            String sent = Bytes.writeRandom(client.getOutputStream(), 1024 * 1024, 8 * 1024, 3);
            client.shutdownOutput();

            Bytes.Digest got = Bytes.readAll(client.getInputStream());

            assertThat(backendSaw.get(30, TimeUnit.SECONDS)).isEqualTo(sent);
            assertThat(got.count()).isEqualTo(response);
            assertThat(got.sha256()).isEqualTo(backendSent.get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * The client half-closes first; the backend then sends more than the socket buffers hold to a client that reads
     * late, so the half-closed frontend needs EPOLLOUT after its EPOLLIN and EPOLLRDHUP are gone (Netty 4.2.18 had
     * removed the socket from epoll by then: ~4 of 16 MiB arrived, then a FIN).
     */
    @ParameterizedTest
    @MethodSource("transports")
    void deliversABulkResponseToALateReaderThatHalfClosedFirst(RelayMode mode) throws Exception {
        long response = 16L * 1024 * 1024;
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        CompletableFuture<Void> backendDone = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        Bytes.readAll(socket.getInputStream()); // to the client's FIN
                        backendSent.complete(Bytes.writeRandom(socket.getOutputStream(), response, 64 * 1024, 31));
                    }
                    backendDone.complete(null);
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address());
                Socket client = proxy.connect()) {
            client.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            Waits.untilDoneOrBlocked(backendDone, Duration.ofSeconds(2)); // read late: let the buffers fill up

            Bytes.Digest got = Bytes.readAll(client.getInputStream());

            assertThat(got.count()).isEqualTo(response);
            assertThat(got.sha256()).isEqualTo(backendSent.get(30, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysHalfCloseFromBackendWhileTheClientKeepsSending(RelayMode mode) throws Exception {
        CompletableFuture<Bytes.Digest> backendSaw = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        socket.getOutputStream().write("bye\n".getBytes(StandardCharsets.US_ASCII));
                        socket.shutdownOutput(); // FIN to the client; keep reading
                        backendSaw.complete(Bytes.readAll(socket.getInputStream()));
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address());
                Socket client = proxy.connect()) {
            InputStream in = client.getInputStream();
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("bye\n");

            String sent = Bytes.writeRandom(client.getOutputStream(), 8L * 1024 * 1024, 64 * 1024, 11);
            client.shutdownOutput();

            Bytes.Digest saw = backendSaw.get(30, TimeUnit.SECONDS);
            assertThat(saw.count()).isEqualTo(8L * 1024 * 1024);
            assertThat(saw.sha256()).isEqualTo(sent);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void deliversEverythingFromABackendThatWritesAndClosesAtOnce(RelayMode mode) throws Exception {
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        backendSent.complete(
                                Bytes.writeRandom(socket.getOutputStream(), 4L * 1024 * 1024, 64 * 1024, 5));
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, backend.address())) {
            for (int i = 0; i < 5; i++) {
                try (Socket client = proxy.connect()) {
                    Bytes.Digest got = Bytes.readAll(client.getInputStream());
                    assertThat(got.count()).isEqualTo(4L * 1024 * 1024);
                    assertThat(got.sha256()).isEqualTo(backendSent.get(30, TimeUnit.SECONDS));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closesTheClientWithinASecondWhenTheBackendRefuses(RelayMode mode) throws Exception {
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = probe.getLocalPort();
        }
        try (RunningProxy proxy = RunningProxy.start(mode, "127.0.0.1:" + deadPort);
                Socket client = proxy.connect()) {
            client.setSoTimeout(1000);
            assertThat(client.getInputStream().read()).as("end of stream").isEqualTo(-1);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().routeMetrics().get("test").noBackendTotal() == 1);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysBytesAndAFinThatArriveBeforeTheBackendHasAccepted(RelayMode mode) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(mode, backend.address())) {
            for (int i = 0; i < 20; i++) {
                try (Socket client = proxy.connect()) {
                    client.getOutputStream().write(("early-" + i).getBytes(StandardCharsets.US_ASCII));
                    client.shutdownOutput(); // at once: usually before the proxy's backend connect completes
                    assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                            .isEqualTo("early-" + i);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void triesTheNextBackendWhenTheFirstRefuses(RelayMode mode) throws Exception {
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = probe.getLocalPort();
        }
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(mode, "127.0.0.1:" + deadPort, backend.address());
                Socket client = proxy.connect()) {
            client.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("hi");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void keepsMemoryBoundedForAClientThatStopsReadingWhileTheBackendPushes(RelayMode mode) throws Exception {
        long total = 64L * 1024 * 1024;
        AtomicLong pushed = new AtomicLong();
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;
        assertThat(allocator).isInstanceOf(ByteBufAllocatorMetricProvider.class);
        long before = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        // Read the client's byte first: closing with unread input would send a reset, not a FIN.
                        Bytes.readExactly(socket.getInputStream(), 1);
                        OutputStream counting = new OutputStream() {
                            private final OutputStream out = socket.getOutputStream();

                            @Override
                            public void write(int b) {
                                throw new UnsupportedOperationException();
                            }

                            @Override
                            public void write(byte[] b, int off, int len) throws java.io.IOException {
                                out.write(b, off, len);
                                pushed.addAndGet(len);
                            }
                        };
                        backendSent.complete(Bytes.writeRandom(counting, total, 64 * 1024, 13));
                    }
                });
                RunningProxy proxy = RunningProxy.start(mode, Timeouts.DEFAULTS, WaterMark.DEFAULT, backend.address());
                Socket client = proxy.connect()) {
            client.getOutputStream().write(1); // the connection is relaying once the backend sees a byte
            long[] last = {-1};
            // The client reads nothing: wait until the backend can push no more (every buffer on the way is full).
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        long now = pushed.get();
                        boolean stalled = now == last[0] && now > 0;
                        last[0] = now;
                        return stalled;
                    });
            long stalledAt = pushed.get();
            long during = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory();

            assertThat(stalledAt).as("backpressure reached the backend").isLessThan(total);
            assertThat(during - before)
                    .as("direct memory the proxy holds for a client that does not read")
                    .isLessThan(8L * 1024 * 1024);

            Bytes.Digest got = Bytes.readAll(client.getInputStream());
            assertThat(got.count()).isEqualTo(total);
            assertThat(got.sha256()).isEqualTo(backendSent.get(30, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void relaysAThousandConcurrentConnections(RelayMode mode) throws Exception {
        int count = 1000;
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(mode, backend.address())) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < count; i++) {
                    clients.add(proxy.connect());
                }
                for (int i = 0; i < count; i++) {
                    clients.get(i).getOutputStream().write(("client-" + i + "\n").getBytes(StandardCharsets.US_ASCII));
                }
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> proxy.server().connections().size() == count);
                for (int i = 0; i < count; i++) {
                    String expected = "client-" + i + "\n";
                    byte[] got = Bytes.readExactly(clients.get(i).getInputStream(), expected.length());
                    assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo(expected);
                }
            } finally {
                for (Socket s : clients) {
                    s.close();
                }
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> proxy.server().connections().size() == 0);
        }
    }
}
