package dev.strait.server;

import static dev.strait.server.support.Clients.echo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.Scrape;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The HTTP admin endpoint of an in-process proxy: probes, the live connection list and Prometheus metrics. */
class AdminIT {
    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private LoopbackBackend backend;
    private ProxyServer server;

    @BeforeEach
    void start() throws Exception {
        backend = LoopbackBackend.echo();
        Route route =
                Route.of("web", new HostAndPort("127.0.0.1", 0), List.of(new HostAndPort("127.0.0.1", backend.port())));
        server = ProxyServer.start(
                ProxyConfig.of(List.of(route)).with(TransportKind.AUTO, Optional.of(new HostAndPort("127.0.0.1", 0))));
    }

    @AfterEach
    void stop() throws IOException {
        server.shutdown(Duration.ZERO);
        backend.close();
    }

    @Test
    void answersLiveWith200() throws Exception {
        HttpResponse<String> live = get("/live");

        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).isEqualTo("live\n");
    }

    @Test
    void answersReadyWith200ThenWith503OnceDrainingBegins() throws Exception {
        assertThat(get("/ready").statusCode()).isEqualTo(200);
        Future<?> shutdown;
        try (Socket client = connect()) {
            assertThat(echo(client, "hi")).isEqualTo("hi");

            shutdown = pool.submit(() -> server.shutdown(Duration.ofSeconds(30)));

            await().atMost(Duration.ofSeconds(5)).until(() -> get("/ready").statusCode() == 503);
            assertThat(get("/live").statusCode())
                    .as("still live while draining")
                    .isEqualTo(200);
            assertThat(Scrape.of(metrics()).value("strait_up")).isZero();
        }
        shutdown.get(10, TimeUnit.SECONDS);
    }

    @Test
    void listsALiveConnectionWithItsAddressesStateAndGrowingByteCounts() throws Exception {
        try (Socket client = connect()) {
            assertThat(echo(client, "hello")).isEqualTo("hello");

            JsonNode first = awaitConnection(c -> c.path("bytesFromClient").asLong() == 5
                    && c.path("bytesFromBackend").asLong() == 5);
            assertThat(first.path("route").asText()).isEqualTo("web");
            assertThat(first.path("client").asText()).isEqualTo("127.0.0.1:" + client.getLocalPort());
            assertThat(first.path("listener").asText()).isEqualTo("127.0.0.1:" + client.getPort());
            assertThat(first.path("backend").asText()).isEqualTo("127.0.0.1:" + backend.port());
            assertThat(first.path("state").asText()).isEqualTo("relaying");

            String more = "x".repeat(1000);
            assertThat(echo(client, more)).isEqualTo(more);

            awaitConnection(c -> c.path("bytesFromClient").asLong() == 1005
                    && c.path("bytesFromBackend").asLong() == 1005);
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        JSON.readTree(get("/connections").body()).path("count").asInt() == 0);
    }

    /** A database pool or an SSH session lives for hours: its bytes must show in rate() while it is open. */
    @Test
    void countsTheBytesOfOpenConnectionsAndNeverLowersTheCounterWhenTheyClose() throws Exception {
        try (Socket client = connect()) {
            String payload = "y".repeat(3000);
            assertThat(echo(client, payload)).isEqualTo(payload);

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                Scrape page = Scrape.of(metrics());
                assertThat(page.value("strait_bytes_from_client_total", "route", "web", "backend", backend.address()))
                        .isEqualTo(3000);
                assertThat(page.value("strait_bytes_from_backend_total", "route", "web", "backend", backend.address()))
                        .isEqualTo(3000);
            });
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        JSON.readTree(get("/connections").body()).path("count").asInt() == 0);
        Scrape page = Scrape.of(metrics());
        assertThat(page.value("strait_bytes_from_client_total", "route", "web", "backend", backend.address()))
                .as("once closed, the same bytes are counted once")
                .isEqualTo(3000);
        assertThat(page.value("strait_bytes_from_backend_total", "route", "web", "backend", backend.address()))
                .isEqualTo(3000);
    }

    @Test
    void exportsActiveAndAcceptedConnectionsPerRoute() throws Exception {
        Scrape before = Scrape.of(metrics());
        assertThat(before.value("strait_connections_active", "route", "web")).isZero();
        assertThat(before.value("strait_connections_accepted_total", "route", "web"))
                .isZero();
        assertThat(before.value("strait_up")).isEqualTo(1);

        try (Socket client = connect()) {
            assertThat(echo(client, "one")).isEqualTo("one");
            Scrape open = Scrape.of(metrics());
            assertThat(open.value("strait_connections_active", "route", "web")).isEqualTo(1);
            assertThat(open.value("strait_connections_accepted_total", "route", "web"))
                    .isEqualTo(1);
        }
        try (Socket client = connect()) {
            assertThat(echo(client, "two")).isEqualTo("two");
        }

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Scrape after = Scrape.of(metrics());
            assertThat(after.value("strait_connections_active", "route", "web")).isZero();
            assertThat(after.value("strait_connections_accepted_total", "route", "web"))
                    .isEqualTo(2);
        });
    }

    @Test
    void reportsABackendWithoutActiveChecksAsUncheckedNotAsUp() throws Exception {
        JsonNode web = JSON.readTree(get("/backends").body()).path("web").get(0);
        assertThat(web.path("healthy").asBoolean())
                .as("healthy: may take connections")
                .isTrue();
        assertThat(web.path("check").asText()).isEqualTo("unchecked");
        assertThat(web.path("lastCheck").isNull()).as("lastCheck of %s", web).isTrue();
        Scrape page = Scrape.of(metrics());
        assertThat(page.value("strait_backend_checked", "route", "web", "backend", backend.address()))
                .isZero();
        assertThat(page.find("strait_backend_up", "route", "web", "backend", backend.address()))
                .isEmpty();
    }

    @Test
    void reportsTheLastCheckOfCheckedBackendsWithItsResultReasonAndTime() throws Exception {
        int closedPort = Ports.freePort();
        Route checked = TestRoutes.route("checked")
                .backends(backend.address(), "127.0.0.1:" + closedPort)
                .healthCheck(new HealthCheck(
                        Duration.ofMillis(100),
                        Duration.ofMillis(100),
                        1,
                        1,
                        Optional.empty(),
                        Optional.empty(),
                        false))
                .build();
        server.shutdown(Duration.ZERO);
        Instant before = Instant.now();
        server = ProxyServer.start(ProxyConfig.of(List.of(checked))
                .with(TransportKind.AUTO, Optional.of(new HostAndPort("127.0.0.1", 0))));

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode list = JSON.readTree(get("/backends").body()).path("checked");
            assertThat(list.get(0).path("check").asText()).isEqualTo("up");
            assertThat(list.get(1).path("check").asText()).isEqualTo("down");
        });
        JsonNode list = JSON.readTree(get("/backends").body()).path("checked");
        JsonNode up = list.get(0).path("lastCheck");
        assertThat(up.path("result").asText()).isEqualTo("up");
        assertThat(up.path("reason").asText()).isEqualTo("connected");
        assertThat(Instant.parse(up.path("at").asText())).isAfterOrEqualTo(before);
        JsonNode down = list.get(1).path("lastCheck");
        assertThat(down.path("result").asText()).isEqualTo("down");
        assertThat(down.path("reason").asText()).containsIgnoringCase("refused");
        assertThat(list.get(1).path("healthy").asBoolean()).isFalse();
        Scrape page = Scrape.of(metrics());
        assertThat(page.value("strait_backend_checked", "route", "checked", "backend", backend.address()))
                .isEqualTo(1);
        assertThat(page.value("strait_backend_up", "route", "checked", "backend", backend.address()))
                .isEqualTo(1);
        assertThat(page.value("strait_backend_up", "route", "checked", "backend", "127.0.0.1:" + closedPort))
                .isZero();
    }

    @Test
    void answersAnUnknownPathWith404() throws Exception {
        assertThat(get("/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void answersPostWith405() throws Exception {
        HttpResponse<String> post = http.send(
                HttpRequest.newBuilder(uri("/live"))
                        .timeout(Duration.ofSeconds(5))
                        .POST(HttpRequest.BodyPublishers.ofString("x"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(post.statusCode()).isEqualTo(405);
    }

    private String metrics() throws IOException, InterruptedException {
        HttpResponse<String> response = get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
        return response.body();
    }

    /** Waits until /connections lists exactly one connection that satisfies the condition, and returns it. */
    private JsonNode awaitConnection(Predicate<JsonNode> condition) {
        JsonNode[] found = new JsonNode[1];
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            HttpResponse<String> response = get("/connections");
            assertThat(response.statusCode()).isEqualTo(200);
            JsonNode root = JSON.readTree(response.body());
            JsonNode list = root.path("connections");
            if (root.path("count").asInt() != 1 || list.size() != 1 || !condition.test(list.get(0))) {
                return false;
            }
            found[0] = list.get(0);
            return true;
        });
        return found[0];
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        InetSocketAddress admin = server.adminAddress().orElseThrow();
        return URI.create("http://127.0.0.1:" + admin.getPort() + path);
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(
                new InetSocketAddress(
                        InetAddress.getLoopbackAddress(),
                        server.boundAddress("web").getPort()),
                5000);
        socket.setSoTimeout(10_000);
        return socket;
    }
}
