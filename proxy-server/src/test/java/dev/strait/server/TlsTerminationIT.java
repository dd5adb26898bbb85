package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.strait.config.ClientAuth;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.config.TransportKind;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.tls.TlsSessionInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A route that terminates TLS, against real clients (the JDK's, openssl s_client, redis-cli --tls) with certificates
 * made at test time: the certificate chosen by SNI, refused old versions and garbage, mutual TLS, reload of replaced
 * files while an old connection relays on, byte-exact bulk and half-close through the TLS layer.
 */
class TlsTerminationIT {
    @TempDir
    static Path dir;

    static TestPki pki;
    static Issued alpha;
    static Issued beta;
    static Issued client;
    static Issued stranger;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    private LoopbackBackend backend;

    @BeforeAll
    static void certificates() throws Exception {
        pki = TestPki.create(dir, "ca");
        alpha = pki.issue("alpha", "alpha.test", KeyForm.PKCS1_RSA, "alpha.test");
        beta = pki.issue("beta", "beta.test", KeyForm.SEC1_EC, "*.beta.test");
        client = pki.issue("client", "client-one", KeyForm.PKCS8_EC);
        stranger = TestPki.create(Files.createDirectories(dir.resolve("other")), "other-ca")
                .issue("stranger", "stranger", KeyForm.PKCS8_EC);
    }

    @AfterEach
    void stopBackend() throws IOException {
        if (backend != null) {
            backend.close();
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"OPENSSL", "JDK"})
    void javaClientGetsTheCertificateOfEachServerName(TlsProvider provider) throws Exception {
        start(tls(provider, ClientAuth.NONE, alpha, beta));

        try (SSLSocket a = tlsClient("alpha.test", null);
                SSLSocket b = tlsClient("x.beta.test", null)) {
            assertThat(subject(a)).isEqualTo("CN=alpha.test");
            assertThat(subject(b)).isEqualTo("CN=beta.test");
            Clients.assertEchoes(a, "over tls to alpha");
            Clients.assertEchoes(b, "over tls to beta");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> strait.server().liveConnections().size() == 2);
            assertThat(strait.server().liveConnections())
                    .extracting(c -> c.tls().sni())
                    .containsExactlyInAnyOrder("alpha.test", "x.beta.test");
            assertThat(strait.server().liveConnections())
                    .extracting(c -> c.tls().protocol())
                    .containsOnly("TLSv1.3");
        }
    }

    @Test
    void opensslClientGetsTheRightCertificateAndTls11IsRefused() throws Exception {
        start(tls(TlsProvider.AUTO, ClientAuth.NONE, alpha, beta));
        String port = String.valueOf(strait.address().getPort());

        String alphaOut = sClient("-servername", "alpha.test", "-connect", "127.0.0.1:" + port);
        String betaOut = sClient("-servername", "www.beta.test", "-connect", "127.0.0.1:" + port);
        String tls12 = sClient("-tls1_2", "-servername", "alpha.test", "-connect", "127.0.0.1:" + port);

        assertThat(alphaOut).contains("subject=CN = alpha.test").contains("Verify return code: 0 (ok)");
        assertThat(betaOut).contains("subject=CN = beta.test").contains("Verify return code: 0 (ok)");
        assertThat(tls12).contains("Protocol  : TLSv1.2");
        // TLS 1.1 allowed on the client's side (security level 0): the refusal is Strait's.
        assertThatThrownBy(() -> sClient(
                        "-tls1_1",
                        "-cipher",
                        "DEFAULT:@SECLEVEL=0",
                        "-servername",
                        "alpha.test",
                        "-connect",
                        "127.0.0.1:" + port))
                .hasMessageContaining("alert");
        RouteMetrics metrics = strait.server().routeMetrics().get("test");
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics.tlsHandshakeFailuresTotal() == 1);
    }

    @Test
    void mutualTlsRefusesAClientWithoutACertificateOrWithAStrangersAndAdmitsASignedOne() throws Exception {
        start(tls(TlsProvider.AUTO, ClientAuth.REQUIRE, alpha));

        assertThatThrownBy(() -> {
                    try (SSLSocket anonymous = tlsClient("alpha.test", null)) {
                        Clients.echo(anonymous, "let me in");
                    }
                })
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> {
                    try (SSLSocket wrong = tlsClient("alpha.test", stranger)) {
                        Clients.echo(wrong, "let me in");
                    }
                })
                .isInstanceOf(IOException.class);
        try (SSLSocket signed = tlsClient("alpha.test", client)) {
            Clients.assertEchoes(signed, "signed by clientCa");
            ProxiedConnection live = await().atMost(Duration.ofSeconds(10))
                    .until(() -> strait.server().liveConnections(), l -> l.size() == 1)
                    .get(0);
            TlsSessionInfo info = live.tls();
            assertThat(info.clientSubject()).isEqualTo("CN=client-one");
            assertThat(info.cipher()).startsWith("TLS_");
        }
        RouteMetrics metrics = strait.server().routeMetrics().get("test");
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics.tlsHandshakeFailuresTotal() == 2);
    }

    /**
     * 64 MiB each way, then the client half-closes: by close_notify alone, its FIN withheld (TLS 1.3 lets the other
     * direction go on), or by a bare FIN. Strait passes it on as a FIN and the echo flows back to its end, then
     * Strait's close_notify. The OpenSSL engine is Strait's patched copy of Netty's (a close_notify closes inbound
     * only), so both providers keep the half-close.
     */
    @ParameterizedTest
    @CsvSource({"OPENSSL, close_notify", "OPENSSL, fin", "JDK, close_notify", "JDK, fin"})
    void relays64MiBEachWayByteExactAndPassesTheClientsHalfClose(TlsProvider provider, String halfClose)
            throws Exception {
        start(tls(provider, ClientAuth.NONE, alpha));
        long size = 64L << 20;
        Socket raw = Clients.connect(strait.address().getPort());

        try (raw;
                SSLSocket socket = layered(raw)) {
            Future<Bytes.Digest> echoed = strait.submit(() -> Bytes.readAll(socket.getInputStream()));
            String sent = Bytes.writeRandom(socket.getOutputStream(), size, 64 * 1024, 12);
            if (halfClose.equals("close_notify")) {
                socket.shutdownOutput(); // close_notify only: a layered socket leaves the FIN to its transport
            } else {
                raw.shutdownOutput(); // the FIN alone
            }

            Bytes.Digest back = echoed.get(120, TimeUnit.SECONDS); // to Strait's close_notify
            assertThat(back.count()).isEqualTo(size);
            assertThat(back.sha256()).isEqualTo(sent);
        }
    }

    /**
     * A request and at once the client's close_notify, no FIN, most likely before the relay has started; the backend
     * answers 1 MiB only once its input has ended. The close_notify reaches the backend as a FIN and the whole answer
     * comes back, then Strait's close_notify, with either engine: Netty 4.2.18's own OpenSSL engine answered the
     * close_notify with its own at once and ended both directions (the client saw a clean end and none of the
     * answer); Strait's patched copy closes inbound only on TLS 1.3.
     */
    @ParameterizedTest
    @EnumSource(names = {"OPENSSL", "JDK", "AUTO"})
    void aClientsCloseNotifyEndsOneDirectionOnly(TlsProvider provider) throws Exception {
        int answer = 1 << 20;
        backend = LoopbackBackend.start(s -> {
            try (s) {
                s.getInputStream().transferTo(OutputStream.nullOutputStream());
                byte[] chunk = new byte[64 * 1024];
                java.util.Arrays.fill(chunk, (byte) 'a');
                for (int i = 0; i < answer / chunk.length; i++) {
                    s.getOutputStream().write(chunk);
                }
                s.shutdownOutput();
            }
        });
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test").backends(backend.address()).tls(tls(provider, ClientAuth.NONE, alpha)));
        Socket raw = Clients.connect(strait.address().getPort());

        try (raw;
                SSLSocket socket = layered(raw)) {
            socket.getOutputStream().write("the whole request\n".getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput(); // close_notify; TCP stays open both ways

            Bytes.Digest back = Bytes.readAll(socket.getInputStream()); // to a close_notify: a clean end
            assertThat(back.count())
                    .as("bytes of the answer after the client's close_notify, provider %s", provider)
                    .isEqualTo(answer);
        }
    }

    /**
     * The backend speaks first and ends its side at once (a greeting, then its FIN); the client reads the greeting to
     * Strait's close_notify and only then sends 1 MiB and its own close_notify. Everything it sent after Strait's
     * close_notify must reach the backend: Netty 4.2.18's OpenSSL engine reported every read after its own
     * close_notify as the end of the client's input (the relay then closed the pair); the patched copy keeps reading.
     */
    @ParameterizedTest
    @EnumSource(names = {"OPENSSL", "JDK"})
    void afterTheBackendsFinTheClientsBytesStillReachIt(TlsProvider provider) throws Exception {
        long size = 1 << 20;
        CompletableFuture<Bytes.Digest> received = new CompletableFuture<>();
        backend = LoopbackBackend.start(s -> {
            try (s) {
                s.getOutputStream().write("greeting\n".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                received.complete(Bytes.readAll(s.getInputStream()));
            }
        });
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test").backends(backend.address()).tls(tls(provider, ClientAuth.NONE, alpha)));
        Socket raw = Clients.connect(strait.address().getPort());

        try (raw;
                SSLSocket socket = layered(raw)) {
            assertThat(Bytes.readAll(socket.getInputStream()).count())
                    .as("the greeting, to a close_notify")
                    .isEqualTo(9);
            String sent = Bytes.writeRandom(socket.getOutputStream(), size, 16 * 1024, 7);
            socket.shutdownOutput(); // close_notify

            Bytes.Digest back = received.get(60, TimeUnit.SECONDS);
            assertThat(back.count())
                    .as("bytes the backend read, provider %s", provider)
                    .isEqualTo(size);
            assertThat(back.sha256()).isEqualTo(sent);
        }
    }

    @Test
    void closesGarbageAndAStalledHandshakeWithTheirCauses() throws Exception {
        TlsConfig quick = withTimeout(tls(TlsProvider.AUTO, ClientAuth.NONE, alpha), Duration.ofSeconds(1));
        start(quick);
        RouteMetrics metrics = strait.server().routeMetrics().get("test");

        try (Socket garbage = Clients.connect(strait.address().getPort())) {
            garbage.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Clients.assertClosedByProxyWithin(garbage, 10_000, "a client that sent garbage");
        }
        try (Socket stalled = Clients.connect(strait.address().getPort())) {
            stalled.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02}); // a record header, then nothing
            Clients.assertClosedByProxyWithin(stalled, 10_000, "a client that stopped mid-handshake");
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> metrics.tlsHandshakeFailuresTotal() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics.tlsHandshakeTimeoutsTotal() == 1);
        assertThat(strait.server().liveConnections()).isEmpty();
    }

    @Test
    void servesReplacedFilesToNewClientsWhileAnOldOneRelaysOnAndKeepsTheOldOnABrokenOne() throws Exception {
        Path cert = dir.resolve("served.crt");
        Path key = dir.resolve("served.key");
        Files.copy(alpha.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(alpha.key(), key, StandardCopyOption.REPLACE_EXISTING);
        start(TlsConfig.of(cert, key));
        RouteMetrics metrics = strait.server().routeMetrics().get("test");

        try (SSLSocket old = tlsClient(null, null)) {
            assertThat(subject(old)).isEqualTo("CN=alpha.test");
            // In place: a new key first, then the cert (the broken state between is counted, not served).
            Files.copy(beta.key(), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(beta.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> newSubject(), "CN=beta.test"::equals);
            Clients.assertEchoes(old, "still relaying on the old certificate");

            // Broken: the new cert does not match the key; the last good one stays.
            long failures = metrics.tlsReloadFailuresTotal();
            Files.copy(alpha.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(5)).until(() -> metrics.tlsReloadFailuresTotal() > failures);
            assertThat(newSubject()).isEqualTo("CN=beta.test");
            Clients.assertEchoes(old, "and after a broken replacement");
        }
    }

    @Test
    void followsAKubernetesSymlinkSwap() throws Exception {
        Path volume = Files.createDirectories(dir.resolve("secret-" + System.nanoTime()));
        Path v1 = Files.createDirectories(volume.resolve("..v1"));
        Path v2 = Files.createDirectories(volume.resolve("..v2"));
        Files.copy(alpha.cert(), v1.resolve("tls.crt"));
        Files.copy(alpha.key(), v1.resolve("tls.key"));
        Files.copy(beta.cert(), v2.resolve("tls.crt"));
        Files.copy(beta.key(), v2.resolve("tls.key"));
        Files.createSymbolicLink(volume.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(volume.resolve("tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(volume.resolve("tls.key"), Path.of("..data/tls.key"));
        start(TlsConfig.of(volume.resolve("tls.crt"), volume.resolve("tls.key")));

        try (SSLSocket old = tlsClient(null, null)) {
            assertThat(subject(old)).isEqualTo("CN=alpha.test");
            Path tmp = volume.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, v2.getFileName());
            Files.move(tmp, volume.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> newSubject(), "CN=beta.test"::equals);
            Clients.assertEchoes(old, "the old connection keeps its session");
        }
        assertThat(strait.server().routeMetrics().get("test").tlsReloadFailuresTotal())
                .isZero();
    }

    @Test
    void redisCliOverTlsSetsAndGets10000KeysThroughToAPlaintextRedis() throws Exception {
        int redisPort = dev.strait.server.support.Ports.freePort();
        Process redis = new ProcessBuilder(
                        "redis-server",
                        "--port",
                        String.valueOf(redisPort),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.log").toFile())
                .start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> !Clients.isRefused(redisPort));
            strait.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends("127.0.0.1:" + redisPort)
                            .tls(tls(TlsProvider.AUTO, ClientAuth.NONE, alpha)));
            String port = String.valueOf(strait.address().getPort());
            StringBuilder sets = new StringBuilder();
            StringBuilder gets = new StringBuilder();
            for (int i = 0; i < 10_000; i++) {
                sets.append(resp("SET", "key:" + i, "value-" + i));
                gets.append(resp("GET", "key:" + i));
            }
            String[] cli = {
                "redis-cli",
                "--tls",
                "--cacert",
                pki.caCert().toString(),
                "--sni",
                "alpha.test",
                "-h",
                "127.0.0.1",
                "-p",
                port
            };

            String setOut = runWithInput(sets.toString(), concat(cli, "--pipe"));
            String getOut = runWithInput(gets.toString(), concat(cli, "--pipe"));
            String size = runWithInput("", concat(cli, "DBSIZE"));
            String one = runWithInput("", concat(cli, "GET", "key:9999"));

            assertThat(setOut).contains("errors: 0, replies: 10000");
            assertThat(getOut).contains("errors: 0, replies: 10000");
            assertThat(size.trim()).isEqualTo("10000");
            assertThat(one.trim()).isEqualTo("value-9999");
        } finally {
            redis.destroy();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private void start(TlsConfig tls) throws Exception {
        backend = LoopbackBackend.echo();
        strait.start(
                TransportKind.AUTO,
                TestRoutes.route("test").backends(backend.address()).tls(tls));
    }

    private SSLSocket tlsClient(String sni, Issued cert) throws Exception {
        SSLContext context = TestPki.clientContext(pki.caCert(), cert);
        InetSocketAddress at = strait.address();
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(at.getAddress(), at.getPort());
        socket.setSoTimeout(30_000);
        SSLParameters params = socket.getSSLParameters();
        if (sni != null) {
            params.setServerNames(List.of(new SNIHostName(sni)));
        }
        params.setProtocols(new String[] {"TLSv1.3"});
        socket.setSSLParameters(params);
        socket.startHandshake();
        return socket;
    }

    /** TLS over a socket the test can half-close itself, without close_notify. */
    private SSLSocket layered(Socket raw) throws Exception {
        SSLContext context = TestPki.clientContext(pki.caCert(), null);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(raw, "alpha.test", raw.getPort(), false);
        SSLParameters params = socket.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName("alpha.test")));
        params.setProtocols(new String[] {"TLSv1.3"});
        socket.setSSLParameters(params);
        socket.startHandshake();
        return socket;
    }

    private String newSubject() throws Exception {
        try (SSLSocket s = tlsClient(null, null)) {
            return subject(s);
        }
    }

    private static String subject(SSLSocket socket) throws Exception {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName();
    }

    private static TlsConfig tls(TlsProvider provider, ClientAuth auth, Issued... certs) {
        return new TlsConfig(
                java.util.Arrays.stream(certs)
                        .map(i -> new TlsConfig.Certificate(i.cert(), i.key()))
                        .toList(),
                List.of("TLSv1.3", "TLSv1.2"),
                auth,
                auth == ClientAuth.NONE ? Optional.empty() : Optional.of(pki.caCert()),
                List.of(),
                Duration.ofSeconds(10),
                provider,
                false);
    }

    private static TlsConfig withTimeout(TlsConfig c, Duration timeout) {
        return new TlsConfig(
                c.certificates(),
                c.protocols(),
                c.clientAuth(),
                c.clientCa(),
                c.alpn(),
                timeout,
                c.provider(),
                c.allowExpired());
    }

    private static String sClient(String... args) throws IOException {
        String[] cmd = concat(
                new String[] {"openssl", "s_client", "-CAfile", pki.caCert().toString(), "-verify_return_error"}, args);
        return runWithInput("", cmd);
    }

    private static String resp(String... words) {
        StringBuilder b = new StringBuilder("*").append(words.length).append("\r\n");
        for (String w : words) {
            b.append('$').append(w.length()).append("\r\n").append(w).append("\r\n");
        }
        return b.toString();
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Runs a command with {@code input} on its stdin; its output, or an IOException with it if it failed. */
    static String runWithInput(String input, String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (InputStream in = p.getInputStream()) {
            p.getOutputStream().write(input.getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().close();
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not end:\n" + text);
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ":\n" + text);
            }
            return text;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
