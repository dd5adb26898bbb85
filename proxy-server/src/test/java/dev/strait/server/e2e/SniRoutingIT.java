package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.SniTarget;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteMetrics.SniOutcome;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestRoutes;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * SNI routing without terminating TLS, with real peers: {@code openssl s_client -servername} reaches one of three
 * {@code openssl s_server} backends (each with its own certificate) by the name it asks for; no-SNI and non-TLS
 * clients follow the default; a server-first backend answers through the default with {@code silentClient}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SniRoutingIT {
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    private static final List<Daemon> servers = new ArrayList<>();
    private static int db1;
    private static int pg;
    private static int fallback;

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension();

    @BeforeAll
    static void startOpensslServers() throws Exception {
        db1 = opensslServer("db1.test");
        pg = opensslServer("any.pg.test");
        fallback = opensslServer("default.test");
    }

    @AfterAll
    static void stopOpensslServers() {
        servers.forEach(Daemon::close);
    }

    @Test
    void routesOpensslClientsByServerNameAndSendsTheRestToTheDefault() throws Exception {
        proxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + fallback)
                        .sni(List.of(target("db1.test", db1), target("*.pg.test", pg))));
        int port = proxy.address().getPort();

        assertThat(peerOf(port, "-servername", "db1.test")).isEqualTo("db1.test");
        assertThat(peerOf(port, "-servername", "DB1.TEST")).isEqualTo("db1.test");
        assertThat(peerOf(port, "-servername", "x.pg.test")).isEqualTo("any.pg.test");
        assertThat(peerOf(port, "-servername", "other.test")).isEqualTo("default.test");
        assertThat(peerOf(port, "-noservername")).isEqualTo("default.test");

        Map<SniOutcome, Long> counted = metrics().sniRoutedTotals();
        assertThat(counted)
                .containsEntry(new SniOutcome("db1.test", "matched"), 2L)
                .containsEntry(new SniOutcome("*.pg.test", "matched"), 1L)
                .containsEntry(new SniOutcome("default", "no_match"), 1L)
                .containsEntry(new SniOutcome("default", "no_sni"), 1L);
    }

    @Test
    void relaysAHelloWrittenInTwoPiecesByteForByteToItsTarget() throws Exception {
        try (LoopbackBackend named = LoopbackBackend.start(LoopbackBackend.tagThenEcho(1));
                LoopbackBackend other = LoopbackBackend.start(LoopbackBackend.tagThenEcho(2))) {
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test").backends(other.address()).sni(List.of(target("db1.test", named.port()))));
            byte[] hello = jdkHello("db1.test");
            for (int cut = 1; cut < hello.length; cut += 29) {
                try (Socket client = proxy.connect()) {
                    client.setTcpNoDelay(true);
                    OutputStream out = client.getOutputStream();
                    out.write(hello, 0, cut);
                    out.flush();
                    out.write(hello, cut, hello.length - cut);
                    out.flush();
                    client.shutdownOutput();
                    InputStream in = client.getInputStream();
                    assertThat(LoopbackBackend.readTag(client))
                            .as("cut at %d", cut)
                            .isEqualTo(1);
                    assertThat(in.readAllBytes()).isEqualTo(hello);
                }
            }
            assertThat(other.acceptedCount()).isZero();
        }
    }

    @Test
    void sendsAPlaintextClientToTheDefaultUnchanged() throws Exception {
        try (LoopbackBackend named = LoopbackBackend.start(LoopbackBackend.tagThenEcho(1));
                LoopbackBackend other = LoopbackBackend.start(LoopbackBackend.tagThenEcho(2))) {
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test").backends(other.address()).sni(List.of(target("db1.test", named.port()))));
            try (Socket client = proxy.connect()) {
                byte[] request = "GET / HTTP/1.0\r\nHost: db1.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                client.getOutputStream().write(request);
                client.shutdownOutput();
                assertThat(LoopbackBackend.readTag(client)).isEqualTo(2);
                assertThat(client.getInputStream().readAllBytes()).isEqualTo(request);
            }
            assertThat(metrics().sniRoutedTotals()).containsEntry(new SniOutcome("default", "not_tls"), 1L);
        }
    }

    @Test
    void aServerFirstBackendAnswersThroughTheDefaultAfterSilentClient() throws Exception {
        LoopbackBackend.Handler banner = socket -> {
            try (socket) {
                socket.getOutputStream().write("220 banner ready\r\n".getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                socket.getInputStream().transferTo(OutputStream.nullOutputStream());
            }
        };
        try (LoopbackBackend server = LoopbackBackend.start(banner);
                LoopbackBackend named = LoopbackBackend.start(LoopbackBackend.tagThenEcho(1))) {
            Timeouts timeouts = Timeouts.DEFAULTS.withSni(Duration.ofSeconds(10), Duration.ofMillis(300));
            proxy.start(
                    TransportKind.AUTO,
                    TestRoutes.route("test")
                            .backends(server.address())
                            .timeouts(timeouts)
                            .sni(List.of(target("db1.test", named.port()))));
            try (Socket client = proxy.connect()) {
                long started = System.nanoTime();
                byte[] line = new byte["220 banner ready\r\n".length()];
                int n = client.getInputStream().readNBytes(line, 0, line.length);
                long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

                assertThat(new String(line, 0, n, StandardCharsets.US_ASCII)).isEqualTo("220 banner ready\r\n");
                assertThat(waitedMillis).isGreaterThanOrEqualTo(250);
            }
            assertThat(named.acceptedCount()).isZero();
            assertThat(metrics().sniRoutedTotals()).containsEntry(new SniOutcome("default", "silent"), 1L);
        }
    }

    private RouteMetrics metrics() {
        return proxy.server().routeMetrics().get("test");
    }

    /** The CN of the certificate {@code openssl s_client} got through Strait. */
    private static String peerOf(int port, String... nameOptions) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Binaries.require("openssl", "openssl").toString(), "s_client", "-connect", "127.0.0.1:" + port));
        command.addAll(List.of(nameOptions));
        Command.Result result = Command.run(TOOL, Map.of(), command);
        var m = Pattern.compile("subject=\\s*CN\\s*=\\s*([^\\s,/]+)").matcher(result.output());
        assertThat(m.find()).as("s_client output: %s", result.output()).isTrue();
        return m.group(1);
    }

    /** An {@code openssl s_server} on a free port with a self-signed certificate for {@code name}. */
    private static int opensslServer(String name) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path cert = dir.resolve(name + ".crt");
        String openssl = Binaries.require("openssl", "openssl").toString();
        Command.runOk(
                TOOL,
                List.of(
                        openssl,
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-days",
                        "2",
                        "-subj",
                        "/CN=" + name,
                        "-keyout",
                        key.toString(),
                        "-out",
                        cert.toString()));
        int port = Ports.freePort();
        servers.add(Daemon.start(
                "s_server " + name,
                List.of(
                        openssl,
                        "s_server",
                        "-accept",
                        "127.0.0.1:" + port,
                        "-cert",
                        cert.toString(),
                        "-key",
                        key.toString(),
                        "-www"),
                dir,
                dir.resolve(name + ".log"),
                text -> text.contains("ACCEPT"),
                TOOL));
        return port;
    }

    static SniTarget target(String name, int port) {
        return new SniTarget(
                List.of(name),
                List.of(BackendSpec.of(new HostAndPort("127.0.0.1", port))),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                2);
    }

    /** The JDK's first flight as a TLS client asking for {@code sni}. */
    static byte[] jdkHello(String sni) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine engine = context.createSSLEngine(sni, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(sni)));
        engine.setSSLParameters(parameters);
        java.nio.ByteBuffer out =
                java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.beginHandshake();
        engine.wrap(java.nio.ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }
}
