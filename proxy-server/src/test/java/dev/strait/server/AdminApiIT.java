package dev.strait.server;

import static dev.strait.server.support.Clients.assertEchoes;
import static dev.strait.server.support.Clients.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.config.AdminToken;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The admin JSON API against a running proxy: a live connection's columns, closing one through its owner with
 * {@code admin_close}, and draining a backend (no new connections, live ones run on, through health changes).
 */
class AdminApiIT {
    private static final String TOKEN = "it-admin-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private ProxyServer server;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.shutdown(Duration.ZERO);
        }
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    @Test
    void listsALiveConnectionWithBothAddressesStraitsOwnBackendAddressBytesAndRates() throws Exception {
        List<SocketAddress> seenByBackend = new CopyOnWriteArrayList<>();
        LoopbackBackend backend = keep(LoopbackBackend.start(socket -> {
            seenByBackend.add(socket.getRemoteSocketAddress());
            LoopbackBackend.echoHandler().handle(socket);
        }));
        start(Optional.of(TOKEN), route("web", null, backend));

        try (Socket client = keep(connect(port("web")));
                Socket other = keep(connect(port("web")))) {
            assertEchoes(client, "x".repeat(1000));
            assertEchoes(other, "y");
            String me = "127.0.0.1:" + client.getLocalPort();

            JsonNode list = getJson("/api/connections?client=" + me);
            assertThat(list.get("count").asInt()).isEqualTo(1);
            JsonNode c = list.get("connections").get(0);
            assertThat(c.get("client").asText()).isEqualTo(me);
            assertThat(c.get("route").asText()).isEqualTo("web");
            assertThat(c.get("state").asText()).isEqualTo("relaying");
            assertThat(c.get("backend").asText()).isEqualTo(backend.address());
            String local = c.get("backendLocal").asText();
            assertThat(seenByBackend)
                    .extracting(a -> "127.0.0.1:" + ((java.net.InetSocketAddress) a).getPort())
                    .contains(local);
            assertThat(c.get("bytesFromClient").asLong()).isEqualTo(1000);
            assertThat(c.get("bytesFromBackend").asLong()).isEqualTo(1000);
            assertThat(c.get("spliced").asBoolean()).isFalse();
            assertThat(c.get("ageSeconds").asDouble()).isGreaterThanOrEqualTo(0);
            assertThat(c.has("idleSeconds")).isTrue();
            assertThat(c.has("rateFromClient")).isTrue();

            // A second of traffic at a steady pace shows as a rate; then silence shows as idle time.
            long until = System.nanoTime() + Duration.ofMillis(2500).toNanos();
            while (System.nanoTime() < until) {
                assertEchoes(client, "z".repeat(2000));
            }
            JsonNode busy =
                    getJson("/api/connections?client=" + me).get("connections").get(0);
            assertThat(busy.get("rateFromClient").asDouble()).isPositive();
            assertThat(busy.get("rateFromBackend").asDouble()).isPositive();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> getJson("/api/connections?client=" + me)
                                    .get("connections")
                                    .get(0)
                                    .get("idleSeconds")
                                    .asDouble()
                            >= 1.5);

            assertThat(getJson("/api/connections?route=web").get("count").asInt())
                    .isEqualTo(2);
            assertThat(getJson("/api/connections?route=other").get("count").asInt())
                    .isZero();
            assertThat(getJson("/api/connections?state=connecting").get("count").asInt())
                    .isZero();
            assertThat(getJson("/api/connections?backend=" + backend.address())
                            .get("count")
                            .asInt())
                    .isEqualTo(2);
        }
    }

    @Test
    void closesAConnectionThroughItsOwnerWithAdminCloseAndLeavesTheOthers() throws Exception {
        LoopbackBackend backend = keep(LoopbackBackend.echo());
        start(Optional.of(TOKEN), route("web", null, backend));
        try (Socket victim = keep(connect(port("web")));
                Socket bystander = keep(connect(port("web")))) {
            assertEchoes(victim, "hello");
            assertEchoes(bystander, "hello");
            ProxiedConnection owner = owner(victim);

            HttpResponse<String> wrongToken = post("/api/connections/" + owner.id() + "/close", "nope-nope-nope-nope");
            HttpResponse<String> unknown = post("/api/connections/ffffffff/close", TOKEN);
            HttpResponse<String> malformed = post("/api/connections/" + owner.id() + "/close", TOKEN, "{oops");
            assertThat(wrongToken.statusCode()).isEqualTo(401);
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(malformed.statusCode()).isEqualTo(400);
            assertEchoes(victim, "still here");

            HttpResponse<String> closed =
                    post("/api/connections/" + owner.id() + "/close", TOKEN, "{\"reason\": \"it\"}");

            assertThat(closed.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(closed.body()).get("cause").asText()).isEqualTo("admin_close");
            Clients.assertClosedByProxyWithin(victim, 2000, "the closed connection");
            await().atMost(Duration.ofSeconds(2)).until(() -> owner.state() instanceof ConnectionState.Closed);
            assertThat(((ConnectionState.Closed) owner.state()).cause()).isEqualTo(CloseCause.ADMIN_CLOSE);
            assertEchoes(bystander, "unaffected");
            await().atMost(Duration.ofSeconds(2))
                    .until(() -> getJson("/api/connections").get("count").asInt() == 1);
        }
    }

    @Test
    void refusesEveryPostWith403WhenNoTokenIsConfigured() throws Exception {
        LoopbackBackend backend = keep(LoopbackBackend.echo());
        start(Optional.empty(), route("web", null, backend));
        try (Socket client = keep(connect(port("web")))) {
            assertEchoes(client, "hi");

            HttpResponse<String> close =
                    post("/api/connections/" + owner(client).id() + "/close", TOKEN);

            assertThat(close.statusCode()).isEqualTo(403);
            assertThat(JSON.readTree(close.body()).get("error").asText()).contains("admin.token");
            assertEchoes(client, "still open");
        }
    }

    @Test
    void aDrainedBackendGetsNoNewConnectionsWhileItsLiveOnesRunOn() throws Exception {
        LoopbackBackend one = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(1)));
        LoopbackBackend two = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(2)));
        start(Optional.of(TOKEN), route("web", null, one, two));
        Socket onTwo = null;
        for (int i = 0; i < 4 && onTwo == null; i++) {
            Socket s = keep(connect(port("web")));
            if (LoopbackBackend.readTag(s) == 2) {
                onTwo = s;
            }
        }
        assertThat(onTwo).as("round-robin reached backend two").isNotNull();

        HttpResponse<String> drained = post("/api/routes/web/backends/" + two.address() + "/drain", TOKEN);
        assertThat(drained.statusCode()).isEqualTo(200);

        assertThat(tags(10)).containsOnly(1);
        assertEchoes(onTwo, "live connections to a drained backend run on");
        JsonNode backends = getJson("/backends").get("web");
        assertThat(backends.get(1).get("drained").asBoolean()).isTrue();
        assertThat(backends.get(0).get("drained").asBoolean()).isFalse();

        assertThat(post("/api/routes/web/backends/" + two.address() + "/enable", TOKEN)
                        .statusCode())
                .isEqualTo(200);
        assertThat(tags(10)).contains(1, 2);
    }

    @Test
    void aDrainedBackendStaysDrainedThroughItsHealthGoingDownAndUp() throws Exception {
        LoopbackBackend one = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(1)));
        LoopbackBackend two = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(2)));
        HealthCheck check = new HealthCheck(
                Duration.ofMillis(200), Duration.ofMillis(200), 1, 1, Optional.empty(), Optional.empty(), false);
        start(Optional.of(TOKEN), route("web", check, one, two));
        assertThat(post("/api/routes/web/backends/" + two.address() + "/drain", TOKEN)
                        .statusCode())
                .isEqualTo(200);

        two.stop();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(1).get("check").asText().equals("down"));
        assertThat(backend(1).get("drained").asBoolean()).isTrue();
        two.start();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(1).get("check").asText().equals("up"));

        assertThat(backend(1).get("drained").asBoolean())
                .as("drained after coming back up")
                .isTrue();
        assertThat(tags(10)).containsOnly(1);

        two.stop();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(1).get("check").asText().equals("down"));
        assertThat(post("/api/routes/web/backends/" + two.address() + "/enable", TOKEN)
                        .statusCode())
                .isEqualTo(200);
        assertThat(tags(6)).as("enabled but down: still no connections").containsOnly(1);
        two.start();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(1).get("check").asText().equals("up"));
        assertThat(tags(10)).contains(1, 2);
    }

    @Test
    void enablingADrainedBackendWakesAClientWaitingForOne() throws Exception {
        LoopbackBackend only = keep(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(7)));
        Route route = TestRoutes.route("web")
                .backends(only.address())
                .timeouts(new Timeouts(
                        Timeouts.DEFAULT_CONNECT,
                        Duration.ZERO,
                        Duration.ZERO,
                        Duration.ZERO,
                        Duration.ofSeconds(30),
                        Duration.ZERO))
                .build();
        start(Optional.of(TOKEN), route);
        assertThat(post("/api/routes/web/backends/" + only.address() + "/drain", TOKEN)
                        .statusCode())
                .isEqualTo(200);

        try (Socket client = keep(connect(port("web")))) {
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> getJson("/api/connections?state=waiting")
                                    .get("count")
                                    .asInt()
                            == 1);
            assertThat(only.acceptedCount())
                    .as("nothing reached the drained backend")
                    .isZero();

            long enabled = System.nanoTime();
            assertThat(post("/api/routes/web/backends/" + only.address() + "/enable", TOKEN)
                            .statusCode())
                    .isEqualTo(200);

            client.setSoTimeout(2000);
            assertThat(LoopbackBackend.readTag(client)).isEqualTo(7);
            assertThat((System.nanoTime() - enabled) / 1_000_000)
                    .as("woken by the enable, long before its 30s queue timeout")
                    .isLessThan(2000);
        }
    }

    private JsonNode backend(int index) throws Exception {
        return getJson("/backends").get("web").get(index);
    }

    /** Opens {@code n} connections one after another and returns the tag each one's backend sent. */
    private List<Integer> tags(int n) throws IOException {
        List<Integer> tags = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = connect(port("web"))) {
                tags.add(LoopbackBackend.readTag(s));
            }
        }
        return tags;
    }

    private ProxiedConnection owner(Socket client) {
        await().atMost(Duration.ofSeconds(2))
                .until(() -> server.liveConnections().stream().anyMatch(c -> matches(c, client)));
        return server.liveConnections().stream()
                .filter(c -> matches(c, client))
                .findFirst()
                .orElseThrow();
    }

    private static boolean matches(ProxiedConnection c, Socket client) {
        return c.client() instanceof java.net.InetSocketAddress a && a.getPort() == client.getLocalPort();
    }

    private static Route route(String name, HealthCheck check, LoopbackBackend... backends) {
        TestRoutes.Builder b = TestRoutes.route(name)
                .backends(java.util.Arrays.stream(backends)
                        .map(LoopbackBackend::address)
                        .toArray(String[]::new));
        if (check != null) {
            b.healthCheck(check);
        }
        return b.build();
    }

    private void start(Optional<String> token, Route route) throws StartException {
        server = ProxyServer.start(ProxyConfig.of(List.of(route))
                .with(TransportKind.AUTO, Optional.of(new HostAndPort("127.0.0.1", 0)))
                .withAdminToken(token.map(AdminToken::new)));
    }

    private int port(String route) {
        return server.boundAddress(route).getPort();
    }

    private <T extends AutoCloseable> T keep(T closeable) {
        toClose.add(closeable);
        return closeable;
    }

    private URI uri(String path) {
        return URI.create(
                "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort() + path);
    }

    private JsonNode getJson(String path) throws IOException, InterruptedException {
        HttpResponse<String> response =
                http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private HttpResponse<String> post(String path, String token) throws IOException, InterruptedException {
        return post(path, token, "");
    }

    private HttpResponse<String> post(String path, String token, String body) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(uri(path))
                        .header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
