package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.proxyprotocol.ProxyHeader;
import dev.strait.proxyprotocol.ProxyHeaderParser;
import dev.strait.server.sni.TlsHellos;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What an sni route's targets get on real sockets: the backend side of PostgreSQL's SSLRequest (Strait's own request
 * first, the backend's {@code S} swallowed, then the hello; an {@code N} closes the client with nothing relayed), and
 * health checks and {@code /backends} over every target.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SniTargetsIT {
    private static final byte[] SSL_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension();

    @Test
    void sendsItsOwnSslRequestThenTheHelloToABackendThatAnswersS() throws Exception {
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (LoopbackBackend postgres = LoopbackBackend.start(answering('S', received))) {
            startPostgresRoute(postgres.port());
            byte[] hello = TlsHellos.hello("db1.test", "postgresql");
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write(SSL_REQUEST);
                assertThat(client.getInputStream().read()).isEqualTo('S');
                client.getOutputStream().write(hello);
                client.shutdownOutput();
                assertThat(client.getInputStream().read())
                        .as("the backend's S is not relayed")
                        .isEqualTo(-1);
            }
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            expected.writeBytes(SSL_REQUEST);
            expected.writeBytes(hello);
            assertThat(received.get(30, TimeUnit.SECONDS)).isEqualTo(expected.toByteArray());
        }
    }

    @Test
    void closesTheClientWhenTheBackendAnswersNAndRelaysNothing() throws Exception {
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (LoopbackBackend postgres = LoopbackBackend.start(answering('N', received))) {
            startPostgresRoute(postgres.port());
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write(SSL_REQUEST);
                assertThat(client.getInputStream().read()).isEqualTo('S');
                client.getOutputStream().write(TlsHellos.hello("db1.test"));
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(received.get(30, TimeUnit.SECONDS))
                    .as("only Strait's SSLRequest reached the backend")
                    .isEqualTo(SSL_REQUEST);
        }
    }

    @Test
    void aTargetsBackendWithItsOwnSendProxyProtocolGetsAV2HeaderNamingTheClientAndTheServerName() throws Exception {
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (LoopbackBackend plain = LoopbackBackend.echo();
                LoopbackBackend raw = LoopbackBackend.start(recording(received))) {
            SniTarget db1 = targetWithHeader("db1.test", raw.port(), ProxyHeaderVersion.V2);
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test").backends(plain.address()).sni(List.of(db1)));
            byte[] hello = TlsHellos.hello("db1.test");
            InetSocketAddress clientAddress;
            try (Socket client = proxy.connect()) {
                clientAddress = (InetSocketAddress) client.getLocalSocketAddress();
                client.getOutputStream().write(hello);
                client.shutdownOutput();
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            }
            byte[] got = received.get(30, TimeUnit.SECONDS);
            ByteBuf bytes = Unpooled.wrappedBuffer(got);
            ProxyHeader header = ProxyHeaderParser.parse(bytes);
            assertThat(header).as("a whole PROXY header first").isNotNull();
            assertThat(header.version()).isEqualTo(2);
            assertThat(header.source()).isEqualTo(clientAddress);
            assertThat(header.destination()).isEqualTo(proxy.address());
            assertThat(header.authority()).contains("db1.test");
            assertThat(Arrays.copyOfRange(got, header.length(), got.length))
                    .as("then the client's hello, untouched")
                    .isEqualTo(hello);
        }
    }

    @Test
    void theRoutesDefaultBackendsGetNoHeaderWhenOnlyATargetsBackendAsksForOne() throws Exception {
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (LoopbackBackend fallback = LoopbackBackend.start(recording(received));
                LoopbackBackend named = LoopbackBackend.echo()) {
            SniTarget db1 = targetWithHeader("db1.test", named.port(), ProxyHeaderVersion.V1);
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test").backends(fallback.address()).sni(List.of(db1)));
            byte[] hello = TlsHellos.hello("other.test");
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write(hello);
                client.shutdownOutput();
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(received.get(30, TimeUnit.SECONDS)).isEqualTo(hello);
        }
    }

    /** A target whose one backend gets a PROXY header of {@code version}, whatever the route says. */
    private static SniTarget targetWithHeader(String name, int port, ProxyHeaderVersion version) {
        return new SniTarget(
                List.of(name),
                List.of(new BackendSpec(
                        new HostAndPort("127.0.0.1", port), 1, 0, false, Optional.of(version), Optional.empty())),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                0);
    }

    /** A backend that records all it gets until the client's FIN, then closes. */
    private static LoopbackBackend.Handler recording(CompletableFuture<byte[]> received) {
        return socket -> {
            try (socket) {
                received.complete(socket.getInputStream().readAllBytes());
            } catch (Exception e) {
                received.completeExceptionally(e);
            }
        };
    }

    @Test
    void healthChecksEveryTargetAndListsItsBackends() throws Exception {
        try (LoopbackBackend up = LoopbackBackend.echo()) {
            int nothing = Ports.freePort();
            HealthCheck d = HealthCheck.DEFAULTS;
            HealthCheck fast = new HealthCheck(
                    Duration.ofMillis(200),
                    Duration.ofMillis(200),
                    1,
                    1,
                    d.send(),
                    d.expect(),
                    d.closeOnDown(),
                    d.port(),
                    d.type(),
                    d.http(),
                    d.expectContains(),
                    d.postgres(),
                    d.closeWithReset());
            SniTarget down = new SniTarget(
                    List.of("down.test"),
                    List.of(BackendSpec.of(new HostAndPort("127.0.0.1", nothing))),
                    BalanceAlgorithm.ROUND_ROBIN,
                    Optional.of(fast),
                    PassiveCheck.DISABLED,
                    0);
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test").backends(up.address()).sni(List.of(down)));

            List<Backend> backends = proxy.server().backends("test");
            assertThat(backends).extracting(b -> b.address().getPort()).containsExactly(up.port(), nothing);
            assertThat(proxy.server().activelyChecked("test")).isTrue();
            await("the target's backend checked down")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> !proxy.server().backends("test").get(1).healthy());
            assertThat(proxy.server().backends("test").get(0).healthy()).isTrue();
        }
    }

    @Test
    void aReloadChangesTheTargetsForNewConnectionsWhileLiveOnesRunOn() throws Exception {
        try (LoopbackBackend x = LoopbackBackend.start(LoopbackBackend.tagThenEcho(1));
                LoopbackBackend y = LoopbackBackend.start(LoopbackBackend.tagThenEcho(2));
                LoopbackBackend z = LoopbackBackend.start(LoopbackBackend.tagThenEcho(3))) {
            Route before = TestRoutes.route("tls")
                    .backends(z.address())
                    .sni(List.of(target("db1.test", x.port())))
                    .build();
            ProxyServer server = ProxyServer.start(RunningProxy.config(TransportKind.AUTO, List.of(before)));
            try {
                int port = server.boundAddress("tls").getPort();
                try (Socket live = helloTo(port, "db1.test")) {
                    assertThat(LoopbackBackend.readTag(live)).isEqualTo(1);
                    assertThat(server.liveConnections())
                            .as("the target /connections and /api/connections name")
                            .extracting(c -> c.target())
                            .containsExactly("db1.test");

                    Route after = TestRoutes.route("tls")
                            .port(port)
                            .backends(z.address())
                            .sni(List.of(target("db1.test", y.port()), target("*.pg.test", x.port())))
                            .build();
                    server.reload(RunningProxy.config(TransportKind.AUTO, List.of(after)));

                    try (Socket db1 = helloTo(port, "db1.test");
                            Socket pg = helloTo(port, "a.pg.test");
                            Socket other = helloTo(port, "other.test")) {
                        assertThat(LoopbackBackend.readTag(db1)).isEqualTo(2);
                        assertThat(LoopbackBackend.readTag(pg)).isEqualTo(1);
                        assertThat(LoopbackBackend.readTag(other)).isEqualTo(3);
                    }
                    live.getOutputStream().write("still here".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    live.shutdownOutput();
                    byte[] echoed = live.getInputStream().readAllBytes();
                    assertThat(new String(echoed, java.nio.charset.StandardCharsets.ISO_8859_1))
                            .endsWith("still here");
                }
            } finally {
                server.shutdown(Duration.ZERO);
            }
        }
    }

    @Test
    void closesAClientThatDoesNotFinishItsHelloWithinClientHelloAndContactsNoBackend() throws Exception {
        try (LoopbackBackend named = LoopbackBackend.echo();
                LoopbackBackend fallback = LoopbackBackend.echo()) {
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends(fallback.address())
                            .timeouts(Timeouts.DEFAULTS.withSni(Duration.ofMillis(300), Duration.ZERO))
                            .sni(List.of(target("db1.test", named.port()))));
            byte[] hello = TlsHellos.hello("db1.test");
            try (Socket client = proxy.connect()) {
                client.getOutputStream().write(hello, 0, hello.length / 2);
                long started = System.nanoTime();
                Clients.assertClosedByProxyWithin(client, 10_000, "half a hello");
                assertThat(Duration.ofNanos(System.nanoTime() - started))
                        .isGreaterThanOrEqualTo(Duration.ofMillis(250));
            }
            assertThat(named.acceptedCount() + fallback.acceptedCount()).isZero();
        }
    }

    private static Socket helloTo(int port, String name) throws Exception {
        Socket client = new Socket("127.0.0.1", port);
        client.setSoTimeout(30_000);
        client.getOutputStream().write(TlsHellos.hello(name));
        return client;
    }

    private static SniTarget target(String name, int port) {
        return new SniTarget(
                List.of(name),
                List.of(BackendSpec.of(new HostAndPort("127.0.0.1", port))),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                0);
    }

    private void startPostgresRoute(int backendPort) throws Exception {
        proxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .protocol(RouteProtocol.POSTGRES)
                        .sni(List.of(new SniTarget(
                                List.of("db1.test"),
                                List.of(BackendSpec.of(new HostAndPort("127.0.0.1", backendPort))),
                                BalanceAlgorithm.ROUND_ROBIN,
                                Optional.empty(),
                                PassiveCheck.DISABLED,
                                0))));
    }

    /** A backend that reads the 8-byte SSLRequest, answers {@code answer}, and records all it got until EOF. */
    private static LoopbackBackend.Handler answering(char answer, CompletableFuture<byte[]> received) {
        return socket -> {
            try (socket) {
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                got.writeBytes(in.readNBytes(8));
                socket.getOutputStream().write(answer);
                socket.getOutputStream().flush();
                if (answer == 'S') {
                    got.writeBytes(in.readAllBytes());
                } else {
                    int more = in.read(); // Strait closes: nothing more may come
                    if (more >= 0) {
                        got.write(more);
                    }
                }
                received.complete(got.toByteArray());
            } catch (Exception e) {
                received.completeExceptionally(e);
                throw e;
            }
        };
    }
}
