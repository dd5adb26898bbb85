package dev.strait.server.capture;

import static dev.strait.server.support.Clients.assertEchoes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.config.AdminToken;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.server.ProxyServer;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.TestRoutes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Traffic capture end to end: started through the admin API, a proxied connection's bytes land in a pcap file that
 * tshark (Debian's, as Wireshark users have it) reassembles into exactly what each side sent; caps, filters and the
 * API's errors; and no handler in a connection's pipeline when nothing captures it.
 */
class CaptureIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "capture-test-token-0123456789";
    private static final int REQUEST = 300_000;
    private static final int REPLY = 200_000;

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final byte[] reply = random(REPLY, 7);
    private LoopbackBackend backend;
    private ProxyServer server;

    @TempDir
    Path directory;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.shutdown(Duration.ZERO);
        }
        if (backend != null) {
            backend.close();
        }
    }

    static Stream<RelayMode> modes() {
        return RelayMode.available();
    }

    /** Reads the whole request (until the client's FIN), then answers {@link #reply} and closes. */
    private void startBackend() throws IOException {
        backend = LoopbackBackend.start(socket -> {
            try (socket) {
                socket.getInputStream().readAllBytes();
                socket.getOutputStream().write(reply);
            }
        });
    }

    private void startProxy(RelayMode mode) throws Exception {
        Route route =
                TestRoutes.route("web").backends("127.0.0.1:" + backend.port()).build();
        ProxyConfig config = new ProxyConfig(
                mode.transport(),
                mode.splice(),
                2,
                ProxyConfig.DEFAULT_BACKLOG,
                Duration.ofSeconds(5),
                Optional.of(new HostAndPort("127.0.0.1", 0)),
                dev.strait.config.DnsConfig.DEFAULTS,
                0,
                List.of(route),
                Optional.of(AdminToken.parse("admin.token", TOKEN)),
                Optional.of(directory));
        server = ProxyServer.start(config);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void capturesBothSidesOfAConnectionByteExactAsTsharkReassemblesThem(RelayMode mode) throws Exception {
        startBackend();
        startProxy(mode);
        JsonNode capture = post("/api/captures", "{\"route\":\"web\",\"seconds\":60,\"maxBytes\":4000000}", 201);
        String id = capture.get("id").asText();
        byte[] request = random(REQUEST, 3);

        InetSocketAddress clientAddress;
        try (Socket client = connect()) {
            clientAddress = (InetSocketAddress) client.getLocalSocketAddress();
            client.getOutputStream().write(request);
            client.shutdownOutput();
            assertSameBytes(client.getInputStream().readAllBytes(), reply);
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.liveConnections().isEmpty());
        post("/api/captures/" + id + "/stop", "", 200);

        Path pcap = download(id);
        assertThat(Files.getPosixFilePermissions(
                        Files.list(directory).findFirst().orElseThrow()))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        Stream0 clientSide = follow(pcap, 0);
        assertThat(clientSide.node0()).isEqualTo("127.0.0.1:" + clientAddress.getPort());
        assertThat(clientSide.node1())
                .isEqualTo("127.0.0.1:" + server.boundAddress("web").getPort());
        assertSameBytes(clientSide.fromNode0(), request);
        assertSameBytes(clientSide.fromNode1(), reply);
        Stream0 backendSide = follow(pcap, 1);
        assertThat(backendSide.node1()).isEqualTo("127.0.0.1:" + backend.port());
        assertSameBytes(backendSide.fromNode0(), request);
        assertSameBytes(backendSide.fromNode1(), reply);

        JsonNode done = get("/api/captures/" + id, 200);
        assertThat(done.get("status").asText()).isEqualTo("stopped");
        assertThat(done.get("connections").asInt()).isEqualTo(1);
        assertThat(done.get("capturedBytes").asLong()).isEqualTo(2L * (REQUEST + REPLY));
        assertThat(done.get("droppedBytes").asLong()).isZero();
    }

    @Test
    void capsEachSideAndDirectionThenLetsTheConnectionRunOnUntapped() throws Exception {
        startBackend();
        startProxy(RelayMode.available().reduce((a, b) -> b).orElseThrow());
        // Four sides-and-directions of 1,000 bytes each use up the capture's 4,000.
        String id = post("/api/captures", "{\"route\":\"web\",\"maxBytes\":4000,\"maxBytesPerConnection\":1000}", 201)
                .get("id")
                .asText();
        byte[] request = random(REQUEST, 5);
        try (Socket client = connect()) {
            client.getOutputStream().write(request);
            client.shutdownOutput();
            assertSameBytes(client.getInputStream().readAllBytes(), reply); // the relay is untouched by the cap
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> server.liveConnections().isEmpty());
        JsonNode done = get("/api/captures/" + id, 200);
        assertThat(done.get("status").asText()).isEqualTo("done");
        assertThat(done.get("capturedBytes").asLong()).isEqualTo(4000);

        Stream0 clientSide = follow(download(id), 0);
        assertSameBytes(clientSide.fromNode0(), java.util.Arrays.copyOf(request, 1000));
        assertSameBytes(clientSide.fromNode1(), java.util.Arrays.copyOf(reply, 1000));
    }

    @Test
    void aConnectionNoCaptureMatchesHasNoCaptureHandler() throws Exception {
        backend = LoopbackBackend.echo();
        startProxy(RelayMode.available().findFirst().orElseThrow());
        // A capture of other clients only: 10.0.0.0/8 does not hold 127.0.0.1.
        post("/api/captures", "{\"route\":\"web\",\"client\":\"10.0.0.0/8\"}", 201);
        try (Socket client = connect()) {
            assertEchoes(client, "hello");
            await().atMost(5, TimeUnit.SECONDS)
                    .until(() -> server.liveConnections().size() == 1);
            var connection = server.liveConnections().get(0);
            assertThat(connection.frontend().pipeline().names()).doesNotContain(CaptureTap.NAME);
            assertThat(connection.state().name()).isEqualTo("relaying");
        }
    }

    @Test
    void aCapturedConnectionHasItsHandlersOnlyWhileTheCaptureRuns() throws Exception {
        backend = LoopbackBackend.echo();
        startProxy(RelayMode.available().findFirst().orElseThrow());
        String id = post("/api/captures", "{\"route\":\"web\",\"client\":\"127.0.0.0/8\"}", 201)
                .get("id")
                .asText();
        try (Socket client = connect()) {
            assertEchoes(client, "hello");
            var connection = server.liveConnections().get(0);
            assertThat(connection.frontend().pipeline().names()).contains(CaptureTap.NAME);
            post("/api/captures/" + id + "/stop", "", 200);
            assertEchoes(client, "the next byte after the stop removes the taps");
            await().atMost(5, TimeUnit.SECONDS)
                    .untilAsserted(() ->
                            assertThat(connection.frontend().pipeline().names()).doesNotContain(CaptureTap.NAME));
            assertEchoes(client, "and the relay runs on");
        }
    }

    @Test
    void badRequestsGetJsonErrorsAndLeaveLiveConnectionsAlone() throws Exception {
        backend = LoopbackBackend.echo();
        startProxy(RelayMode.available().findFirst().orElseThrow());
        try (Socket client = connect()) {
            assertEchoes(client, "before");
            assertError(send("POST", "/api/captures", "{not json"), 400, "not JSON");
            assertError(send("POST", "/api/captures", "[1]"), 400, "JSON object");
            assertError(send("POST", "/api/captures", "{\"route\":\"nope\"}"), 404, "no route named");
            assertError(
                    send("POST", "/api/captures", "{\"route\":\"web\",\"client\":\"10.0.0.300/8\"}"), 400, "client");
            assertError(send("POST", "/api/captures", "{\"route\":\"web\",\"seconds\":0}"), 400, "seconds");
            assertError(send("POST", "/api/captures", "{\"route\":\"web\",\"maxBytes\":\"big\"}"), 400, "maxBytes");
            assertError(send("POST", "/api/captures", "{\"route\":\"web\",\"color\":1}"), 400, "unknown field");
            assertError(send("GET", "/api/captures/c999", null), 404, "no capture");
            assertError(send("GET", "/api/captures/c999.pcap", null), 404, "no capture");
            assertError(send("DELETE", "/api/captures/c999", null), 404, "no capture");
            assertError(send("PUT", "/api/captures", "{}"), 405, "GET or POST");
            assertEchoes(client, "after");
        }
        assertThat(get("/api/captures", 200).get("captures")).isEmpty();
    }

    @Test
    void everyCaptureEndpointNeedsTheAdminToken() throws Exception {
        backend = LoopbackBackend.echo();
        startProxy(RelayMode.available().findFirst().orElseThrow());
        String id = post("/api/captures", "{\"route\":\"web\"}", 201).get("id").asText();
        for (String path : List.of("/api/captures", "/api/captures/" + id, "/api/captures/" + id + ".pcap")) {
            HttpResponse<String> anonymous = http.send(
                    HttpRequest.newBuilder(uri(path))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).as(path).isEqualTo(401);
        }
        HttpResponse<String> wrong = http.send(
                HttpRequest.newBuilder(uri("/api/captures"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"route\":\"web\"}"))
                        .header("Authorization", "Bearer not-the-token-at-all-0000")
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(get("/api/captures", 200).get("captures")).hasSize(1);
    }

    @Test
    void deleteRemovesTheCaptureAndItsFile() throws Exception {
        backend = LoopbackBackend.echo();
        startProxy(RelayMode.available().findFirst().orElseThrow());
        String id = post("/api/captures", "{\"route\":\"web\"}", 201).get("id").asText();
        assertThat(Files.list(directory).count()).isEqualTo(1);

        HttpResponse<String> deleted = send("DELETE", "/api/captures/" + id, null);

        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(Files.list(directory).count()).isZero();
        assertThat(get("/api/captures", 200).get("captures")).isEmpty();
    }

    @Test
    void aRouteWithACaptureBlockStartsWithACaptureRunning() throws Exception {
        backend = LoopbackBackend.echo();
        Route route = TestRoutes.route("web")
                .backends("127.0.0.1:" + backend.port())
                .capture(new dev.strait.config.RouteCapture(Duration.ofMinutes(5), 1000, 100))
                .build();
        server = ProxyServer.start(new ProxyConfig(
                dev.strait.config.TransportKind.AUTO,
                dev.strait.config.SpliceMode.AUTO,
                1,
                ProxyConfig.DEFAULT_BACKLOG,
                Duration.ofSeconds(5),
                Optional.of(new HostAndPort("127.0.0.1", 0)),
                dev.strait.config.DnsConfig.DEFAULTS,
                0,
                List.of(route),
                Optional.of(AdminToken.parse("admin.token", TOKEN)),
                Optional.of(directory)));
        try (Socket client = connect()) {
            assertEchoes(client, "captured from the start");
        }
        JsonNode captures = get("/api/captures", 200).get("captures");
        assertThat(captures).hasSize(1);
        assertThat(captures.get(0).get("route").asText()).isEqualTo("web");
        assertThat(captures.get(0).get("status").asText()).isEqualTo("running");
        assertThat(captures.get(0).get("maxBytesPerConnection").asLong()).isEqualTo(100);
        assertThat(captures.get(0).get("connections").asInt()).isEqualTo(1);
    }

    /** Compares by length and SHA-256, so that a failure prints two lines rather than two arrays. */
    private static void assertSameBytes(byte[] actual, byte[] expected) {
        assertThat(actual.length).as("length").isEqualTo(expected.length);
        assertThat(Bytes.digestOf(actual)).as("SHA-256").isEqualTo(Bytes.digestOf(expected));
    }

    /** What {@code tshark -z follow,tcp,raw,N} reassembles of one TCP stream. */
    record Stream0(String node0, String node1, byte[] fromNode0, byte[] fromNode1) {}

    private static Stream0 follow(Path pcap, int stream) throws Exception {
        Process tshark = new ProcessBuilder("tshark", "-r", pcap.toString(), "-q", "-z", "follow,tcp,raw," + stream)
                .redirectErrorStream(true)
                .start();
        String out;
        try (InputStream in = tshark.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(tshark.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(tshark.exitValue()).as(out).isZero();
        String node0 = null;
        String node1 = null;
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        HexFormat hex = HexFormat.of();
        for (String line : out.split("\n")) {
            if (line.startsWith("Node 0: ")) {
                node0 = line.substring(8).trim();
            } else if (line.startsWith("Node 1: ")) {
                node1 = line.substring(8).trim();
            } else if (line.matches("\t[0-9a-f]+")) {
                b.writeBytes(hex.parseHex(line.trim()));
            } else if (line.matches("[0-9a-f]+")) {
                a.writeBytes(hex.parseHex(line.trim()));
            }
        }
        assertThat(node0).as(out).isNotNull();
        return new Stream0(node0, node1, a.toByteArray(), b.toByteArray());
    }

    private Path download(String id) throws Exception {
        Path file = Files.createTempFile(directory.getParent(), "download-", ".pcap");
        HttpResponse<Path> response = http.send(
                HttpRequest.newBuilder(uri("/api/captures/" + id + ".pcap"))
                        .header("Authorization", "Bearer " + TOKEN)
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofFile(file));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).contains("application/vnd.tcpdump.pcap");
        return file;
    }

    private static void assertError(HttpResponse<String> response, int status, String says) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("error").asText()).contains(says);
    }

    private JsonNode post(String path, String body, int expected) throws Exception {
        HttpResponse<String> response = send("POST", path, body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(expected);
        return JSON.readTree(response.body());
    }

    private JsonNode get(String path, int expected) throws Exception {
        HttpResponse<String> response = send("GET", path, null);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(expected);
        return JSON.readTree(response.body());
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest.BodyPublisher publisher =
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body);
        return http.send(
                HttpRequest.newBuilder(uri(path))
                        .method(method, publisher)
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer " + TOKEN)
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create(
                "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort() + path);
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(
                new InetSocketAddress(
                        InetAddress.getLoopbackAddress(),
                        server.boundAddress("web").getPort()),
                5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
