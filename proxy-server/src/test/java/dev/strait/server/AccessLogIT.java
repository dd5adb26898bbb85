package dev.strait.server;

import static dev.strait.server.support.Clients.assertClosedByProxyWithin;
import static dev.strait.server.support.Clients.assertEchoes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.config.AccessLog;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The access log of an in-process proxy written to a file, read back as JSON: one line per connection and why. */
class AccessLogIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private LoopbackBackend backend;
    private RunningProxy proxy;
    private Path file;

    private final Set<Integer> peerPorts = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void backend() throws IOException {
        LoopbackBackend.Handler echo = LoopbackBackend.echoHandler();
        backend = LoopbackBackend.start(socket -> {
            peerPorts.add(socket.getPort());
            echo.handle(socket);
        });
        file = dir.resolve("access.log");
    }

    @AfterEach
    void stop() throws IOException {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    @Test
    void logsANormalCloseWithBothAddressesBytesTimesAndWhoClosedFirst() throws Exception {
        start(TestRoutes.route("test").backends(backend.address()), false, Duration.ZERO);
        Instant before = Instant.now();
        int clientPort;
        try (Socket client = proxy.connect()) {
            clientPort = client.getLocalPort();
            assertEchoes(client, "hello");
        }

        JsonNode line = awaitLines(1).get(0);
        assertThat(line.path("event").asText()).isEqualTo("close");
        assertThat(Instant.parse(line.path("time").asText())).isBetween(before.minusSeconds(1), Instant.now());
        assertThat(line.path("route").asText()).isEqualTo("test");
        assertThat(line.path("client").asText()).isEqualTo("127.0.0.1:" + clientPort);
        assertThat(line.path("listener").asText()).isEqualTo("127.0.0.1:" + proxy.port());
        assertThat(line.path("backend").asText()).isEqualTo(backend.address());
        assertThat(line.path("backendLocal").asText()).startsWith("127.0.0.1:");
        assertThat(peerPorts)
                .as("backendLocal is the source port the backend saw")
                .contains(Integer.parseInt(line.path("backendLocal").asText().substring("127.0.0.1:".length())));
        assertThat(line.path("attempts").asInt()).isEqualTo(1);
        assertThat(line.path("waitMs").asLong()).isZero();
        assertThat(line.path("connectMs").asLong()).isBetween(0L, 5000L);
        assertThat(line.path("durationMs").asLong()).isBetween(0L, 30_000L);
        assertThat(line.path("bytesFromClient").asLong()).isEqualTo(5);
        assertThat(line.path("bytesFromBackend").asLong()).isEqualTo(5);
        assertThat(line.path("spliced").isBoolean()).isTrue();
        assertThat(line.path("cause").asText()).isEqualTo("client_close");
        assertThat(line.path("closedFirst").asText()).isEqualTo("client");
    }

    @Test
    void logsARefusedConnectWithNoBackendAndTheProxyClosingFirst() throws Exception {
        int closedPort = Ports.freePort();
        start(TestRoutes.route("test").backends("127.0.0.1:" + closedPort), false, Duration.ZERO);
        try (Socket client = proxy.connect()) {
            assertClosedByProxyWithin(client, 10_000, "a client whose only backend refuses");
        }

        JsonNode line = awaitLines(1).get(0);
        assertThat(line.path("cause").asText()).isEqualTo("connect_refused");
        assertThat(line.path("closedFirst").asText()).isEqualTo("proxy");
        assertThat(line.path("backend").isNull()).as("backend of %s", line).isTrue();
        assertThat(line.path("backendLocal").isNull()).isTrue();
        assertThat(line.path("attempts").asInt())
                .as("its only backend, tried once: a retry goes to another backend")
                .isEqualTo(1);
        assertThat(line.path("bytesFromClient").asLong()).isZero();
    }

    @Test
    void logsAnIdleTimeoutAfterTheConnectAndProgressLinesItAskedFor() throws Exception {
        start(
                TestRoutes.route("test")
                        .backends(backend.address())
                        .timeouts(new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofMillis(2500))),
                true,
                Duration.ofSeconds(1));
        try (Socket client = proxy.connect()) {
            assertEchoes(client, "then nothing");
            assertClosedByProxyWithin(client, 20_000, "an idle client");
        }

        List<JsonNode> lines = await().atMost(Duration.ofSeconds(20))
                .until(
                        this::lines,
                        l -> !l.isEmpty()
                                && "close"
                                        .equals(l.get(l.size() - 1)
                                                .path("event")
                                                .asText()));
        assertThat(lines.get(0).path("event").asText()).isEqualTo("connect");
        assertThat(lines.get(0).path("cause").isNull()).isTrue();
        assertThat(lines.get(0).path("backendLocal").asText()).startsWith("127.0.0.1:");
        assertThat(lines.subList(1, lines.size() - 1))
                .as("progress lines while idle for 2.5s, one a second")
                .isNotEmpty()
                .allSatisfy(l -> assertThat(l.path("event").asText()).isEqualTo("progress"));
        assertThat(lines.get(1).path("bytesFromClient").asLong())
                .as("a progress line carries the bytes so far")
                .isEqualTo(12);
        JsonNode close = lines.get(lines.size() - 1);
        assertThat(close.path("cause").asText()).isEqualTo("idle_timeout");
        assertThat(close.path("closedFirst").asText()).isEqualTo("proxy");
        assertThat(close.path("durationMs").asLong()).isGreaterThanOrEqualTo(2500);
    }

    @Test
    void writesNothingForARouteWithTheAccessLogOff() throws Exception {
        Route on = TestRoutes.route("on")
                .backends(backend.address())
                .accessLog(log(false, Duration.ZERO))
                .build();
        Route off = TestRoutes.route("off")
                .backends(backend.address())
                .accessLog(new AccessLog(false, AccessLog.Format.JSON, file.toString(), false, Duration.ZERO))
                .build();
        proxy = RunningProxy.start(RunningProxy.config(TransportKind.AUTO, List.of(on, off)));
        try (Socket client =
                new Socket("127.0.0.1", proxy.server().boundAddress("off").getPort())) {
            assertEchoes(client, "unlogged");
        }
        try (Socket client =
                new Socket("127.0.0.1", proxy.server().boundAddress("on").getPort())) {
            assertEchoes(client, "logged");
        }

        List<JsonNode> lines = awaitLines(1);
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0).path("route").asText()).isEqualTo("on");
    }

    private void start(TestRoutes.Builder route, boolean onConnect, Duration periodic) throws Exception {
        proxy = RunningProxy.start(
                TransportKind.AUTO, route.accessLog(log(onConnect, periodic)).build());
    }

    private AccessLog log(boolean onConnect, Duration periodic) {
        return new AccessLog(true, AccessLog.Format.JSON, file.toString(), onConnect, periodic);
    }

    private List<JsonNode> awaitLines(int count) {
        return await().atMost(Duration.ofSeconds(10)).until(this::lines, l -> l.size() >= count);
    }

    private List<JsonNode> lines() {
        try {
            if (!Files.exists(file)) {
                return List.of();
            }
            return Files.readAllLines(file).stream()
                    .map(line -> {
                        try {
                            return JSON.readTree(line);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    })
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
