package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.CheckResult;
import dev.strait.config.BackendTls;
import dev.strait.config.ClientAuth;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import dev.strait.server.support.TestRoutes;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route that speaks TLS to its backend: to {@code openssl s_server -Verify 1} (which demands a client certificate)
 * with the right CA and name, and refused with a wrong CA or a wrong name; and byte-exact bulk and half-close through
 * a route that originates TLS to a second route that terminates it.
 */
class TlsOriginationIT {
    @TempDir
    static Path dir;

    static TestPki pki;
    static TestPki other;
    static Issued server;
    static Issued client;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    private Process sServer;

    @BeforeAll
    static void certificates() throws Exception {
        pki = TestPki.create(dir, "ca");
        other = TestPki.create(Files.createDirectories(dir.resolve("other")), "other-ca");
        server = pki.issue("server", "server.test", KeyForm.PKCS1_RSA, "server.test");
        client = pki.issue("client", "strait-client", KeyForm.SEC1_EC);
    }

    @AfterEach
    void stopServer() throws InterruptedException {
        if (sServer != null) {
            sServer.destroy();
            sServer.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void presentsItsClientCertificateToAServerThatDemandsOne() throws Exception {
        int port = startSServer();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + port)
                        .backendTls(backendTls("server.test", pki.caCert())));

        try (Socket socket = strait.connect()) {
            socket.getOutputStream().write("hello tls backend\n".getBytes(StandardCharsets.US_ASCII));
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            assertThat(in.readLine()).isEqualTo("dnekcab slt olleh");
        }
    }

    @Test
    void refusesABackendSignedByAnotherCa() throws Exception {
        int port = startSServer();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + port)
                        .retries(0)
                        .timeouts(noQueue())
                        .backendTls(backendTls("server.test", other.caCert())));

        try (Socket socket = strait.connect()) {
            socket.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            Clients.assertClosedByProxyWithin(socket, 10_000, "a client whose backend's certificate is not trusted");
        }
    }

    @Test
    void refusesABackendWhoseNameDoesNotMatch() throws Exception {
        int port = startSServer();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + port)
                        .retries(0)
                        .timeouts(noQueue())
                        .backendTls(backendTls("wrong.test", pki.caCert())));

        try (Socket socket = strait.connect()) {
            socket.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            Clients.assertClosedByProxyWithin(socket, 10_000, "a client whose backend has another name");
        }
    }

    @Test
    void healthChecksGoThroughTheSameTls() throws Exception {
        int port = startSServer();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + port, "127.0.0.1:" + port)
                        .healthCheck(HealthCheck.DEFAULTS)
                        .backendTls(backendTls("server.test", pki.caCert())));

        await().atMost(Duration.ofSeconds(20)).until(() -> strait.server().backends("test").stream()
                .allMatch(b -> b.lastCheck().map(CheckResult::up).orElse(false)));
    }

    @Test
    void aHealthCheckFailsABackendWithAnUntrustedCertificate() throws Exception {
        int port = startSServer();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + port)
                        .healthCheck(HealthCheck.DEFAULTS)
                        .backendTls(backendTls("server.test", other.caCert())));

        CheckResult last = await().atMost(Duration.ofSeconds(20))
                .until(() -> strait.server().backends("test").get(0).lastCheck(), Optional::isPresent)
                .orElseThrow();
        assertThat(last.up()).isFalse();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> !strait.server().backends("test").get(0).healthy());
    }

    /**
     * Plain client -> route "plain" (originates TLS, provider auto) -> route "tls" (terminates, JDK engine) -> echo:
     * 64 MiB each way, then the client's FIN, which crosses the TLS hop as close_notify then FIN while the echo flows
     * back.
     */
    @Test
    void relays64MiBEachWayByteExactThroughAnOriginatedAndATerminatedHopAndPassesTheHalfClose() throws Exception {
        try (LoopbackBackend echo = LoopbackBackend.echo()) {
            int tlsPort = Ports.freePort();
            Route terminating = TestRoutes.route("tls")
                    .listen(new HostAndPort("127.0.0.1", tlsPort))
                    .backends(echo.address())
                    // The JDK's engine: Netty's OpenSSL engine ends both directions on a close_notify, which is
                    // what the originating hop sends (then its FIN) when the client half-closes.
                    .tls(jdk(TlsConfig.of(server.cert(), server.key())))
                    .build();
            Route originating = TestRoutes.route("plain")
                    .listen(new HostAndPort("127.0.0.1", 0))
                    .backends("127.0.0.1:" + tlsPort)
                    .backendTls(new BackendTls(
                            true,
                            Optional.of("server.test"),
                            true,
                            Optional.of(pki.caCert()),
                            Optional.empty(),
                            Optional.empty(),
                            List.of()))
                    .build();
            try (RunningProxy proxy =
                    RunningProxy.start(RunningProxy.config(TransportKind.AUTO, List.of(terminating, originating)))) {
                long size = 64L << 20;
                try (Socket socket =
                        Clients.connect(proxy.server().boundAddress("plain").getPort())) {
                    Future<Bytes.Digest> echoed = strait.submit(() -> Bytes.readAll(socket.getInputStream()));
                    String sent = Bytes.writeRandom(socket.getOutputStream(), size, 64 * 1024, 7);
                    socket.shutdownOutput();

                    Bytes.Digest back = echoed.get(180, TimeUnit.SECONDS);
                    assertThat(back.count()).isEqualTo(size);
                    assertThat(back.sha256()).isEqualTo(sent);
                }
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> proxy.server().liveConnections().isEmpty());
            }
        }
    }

    /**
     * The originating route's {@code backendTls} files replaced in place: a CA that does not sign the backend makes
     * new connections fail within 5 s while an old one relays on; a broken file is counted and keeps the last good
     * context; the right CA again lets new connections through.
     */
    @Test
    void usesReplacedBackendTlsFilesForNewConnectionsWhileAnOldOneRelaysOnAndKeepsTheLastGoodOnABrokenOne()
            throws Exception {
        Path files = Files.createDirectories(dir.resolve("in-place-" + System.nanoTime()));
        Path ca = files.resolve("ca.crt");
        Files.copy(pki.caCert(), ca);
        try (LoopbackBackend echo = LoopbackBackend.echo();
                RunningProxy proxy = chain(echo, ca, client.cert(), client.key())) {
            int port = proxy.server().boundAddress("plain").getPort();
            RouteMetrics metrics = proxy.server().routeMetrics().get("plain");
            try (Socket old = Clients.connect(port)) {
                Clients.assertEchoes(old, "before the replacement");

                Files.copy(other.caCert(), ca, StandardCopyOption.REPLACE_EXISTING);
                await().atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> !echoes(port));
                Clients.assertEchoes(old, "the old connection keeps its session");

                long failures = metrics.tlsReloadFailuresTotal();
                Files.writeString(ca, "not a certificate\n");
                await().atMost(Duration.ofSeconds(5)).until(() -> metrics.tlsReloadFailuresTotal() > failures);
                assertThat(echoes(port))
                        .as("the last good context (the other CA) stays")
                        .isFalse();

                Files.copy(pki.caCert(), ca, StandardCopyOption.REPLACE_EXISTING);
                await().atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> echoes(port));
                Clients.assertEchoes(old, "and after every reload");
            }
        }
    }

    /**
     * A Kubernetes secret's symlink swap of the client certificate and key: one signed by a CA the backend does not
     * trust makes new connections fail within 5 s; the old connection relays on; nothing counts as a failure.
     */
    @Test
    void followsAKubernetesSymlinkSwapOfTheClientCertificate() throws Exception {
        Path volume = Files.createDirectories(dir.resolve("secret-" + System.nanoTime()));
        Path v1 = Files.createDirectories(volume.resolve("..v1"));
        Path v2 = Files.createDirectories(volume.resolve("..v2"));
        Issued stranger = other.issue("stranger-" + System.nanoTime(), "stranger", KeyForm.PKCS8_EC);
        Files.copy(client.cert(), v1.resolve("tls.crt"));
        Files.copy(client.key(), v1.resolve("tls.key"));
        Files.copy(stranger.cert(), v2.resolve("tls.crt"));
        Files.copy(stranger.key(), v2.resolve("tls.key"));
        Files.createSymbolicLink(volume.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(volume.resolve("tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(volume.resolve("tls.key"), Path.of("..data/tls.key"));
        try (LoopbackBackend echo = LoopbackBackend.echo();
                RunningProxy proxy = chain(echo, pki.caCert(), volume.resolve("tls.crt"), volume.resolve("tls.key"))) {
            int port = proxy.server().boundAddress("plain").getPort();
            try (Socket old = Clients.connect(port)) {
                Clients.assertEchoes(old, "with the first client certificate");
                Path tmp = volume.resolve("..data_tmp");
                Files.createSymbolicLink(tmp, v2.getFileName());
                Files.move(tmp, volume.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

                await().atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> !echoes(port));
                Clients.assertEchoes(old, "the old connection keeps its session");
            }
            assertThat(proxy.server().routeMetrics().get("plain").tlsReloadFailuresTotal())
                    .isZero();
        }
    }

    /**
     * Plain client -> route "plain" (originates TLS with {@code ca}, {@code cert}, {@code key}) -> route "tls"
     * (terminates; demands a client certificate signed by the test CA) -> {@code echo}. One attempt, no queue: a
     * failed handshake closes the client at once.
     */
    private static RunningProxy chain(LoopbackBackend echo, Path ca, Path cert, Path key) throws Exception {
        int tlsPort = Ports.freePort();
        TlsConfig demanding = new TlsConfig(
                List.of(new TlsConfig.Certificate(server.cert(), server.key())),
                List.of("TLSv1.3", "TLSv1.2"),
                ClientAuth.REQUIRE,
                Optional.of(pki.caCert()),
                List.of(),
                Duration.ofSeconds(10),
                TlsProvider.AUTO,
                false);
        Route terminating = TestRoutes.route("tls")
                .listen(new HostAndPort("127.0.0.1", tlsPort))
                .backends(echo.address())
                .tls(demanding)
                .build();
        Route originating = TestRoutes.route("plain")
                .listen(new HostAndPort("127.0.0.1", 0))
                .backends("127.0.0.1:" + tlsPort)
                .retries(0)
                .timeouts(noQueue())
                .backendTls(new BackendTls(
                        true,
                        Optional.of("server.test"),
                        true,
                        Optional.of(ca),
                        Optional.of(cert),
                        Optional.of(key),
                        List.of()))
                .build();
        return RunningProxy.start(RunningProxy.config(TransportKind.AUTO, List.of(terminating, originating)));
    }

    /** Whether a new connection through {@code port} echoes a line (false: closed or failed without one). */
    private static boolean echoes(int port) {
        try (Socket s = Clients.connect(port)) {
            s.setSoTimeout(3_000);
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            return "ping".equals(in.readLine());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private int startSServer() throws Exception {
        int port = Ports.freePort();
        sServer = new ProcessBuilder(
                        "openssl",
                        "s_server",
                        "-accept",
                        "127.0.0.1:" + port,
                        "-cert",
                        server.cert().toString(),
                        "-key",
                        server.key().toString(),
                        "-CAfile",
                        pki.caCert().toString(),
                        "-Verify",
                        "1",
                        "-verify_return_error",
                        "-rev")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("s_server-" + port + ".log").toFile())
                .start();
        await().atMost(Duration.ofSeconds(20)).until(() -> !Clients.isRefused(port));
        return port;
    }

    private static TlsConfig jdk(TlsConfig c) {
        return new TlsConfig(
                c.certificates(),
                c.protocols(),
                c.clientAuth(),
                c.clientCa(),
                c.alpn(),
                c.handshakeTimeout(),
                TlsProvider.JDK,
                c.allowExpired());
    }

    /** Gives up at once when the one backend fails, so the client is closed without waiting. */
    private static Timeouts noQueue() {
        Timeouts d = Timeouts.DEFAULTS;
        return new Timeouts(d.connect(), d.idle(), d.clientFin(), d.serverFin(), Duration.ZERO, d.maxLifetime());
    }

    private static BackendTls backendTls(String name, Path ca) {
        return new BackendTls(
                true,
                Optional.of(name),
                true,
                Optional.of(ca),
                Optional.of(client.cert()),
                Optional.of(client.key()),
                List.of());
    }
}
