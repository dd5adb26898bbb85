package dev.strait.server;

import static dev.strait.server.support.Clients.assertClosedByProxyWithin;
import static dev.strait.server.support.Clients.assertEchoes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.AccessList;
import dev.strait.config.Cidr;
import dev.strait.config.HostAndPort;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.Scrape;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} of an in-process proxy, written by the official Prometheus client: each counter family moved by a
 * scenario that should move it, and the live page accepted by {@code promtool check metrics} without a complaint.
 */
class MetricsIT {
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private LoopbackBackend backend;
    private ProxyServer server;
    private int closedPort;

    @BeforeEach
    void start() throws Exception {
        backend = LoopbackBackend.echo();
        closedPort = Ports.freePort(); // on 127.0.0.9 below: no listener of this proxy (on 127.0.0.1) can take it
        Route web = TestRoutes.route("web").backends(backend.address()).build();
        Route idle = TestRoutes.route("idle")
                .backends(backend.address())
                .timeouts(new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofMillis(300)))
                .build();
        Route dead = TestRoutes.route("dead")
                .backends("127.0.0.9:" + closedPort)
                .retries(0)
                .build();
        Route denied = TestRoutes.route("denied")
                .backends(backend.address())
                .access(new AccessList(List.of(), List.of(Cidr.parse("deny", "127.0.0.0/8"))))
                .build();
        Route full = TestRoutes.route("full")
                .backends(backend.address())
                .limits(new Limits(1, OnLimit.REFUSE, 0, 0))
                .build();
        server = ProxyServer.start(RunningProxy.config(TransportKind.AUTO, List.of(web, idle, dead, denied, full))
                .with(TransportKind.AUTO, Optional.of(new HostAndPort("127.0.0.1", 0))));
    }

    @AfterEach
    void stop() throws IOException {
        server.shutdown(Duration.ZERO);
        backend.close();
    }

    @Test
    void countsARelayedConnectionItsBytesAndItsTimes() throws Exception {
        try (Socket client = connect("web")) {
            assertEchoes(client, "hello");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Scrape page = scrape();
            assertThat(page.value("strait_connections_accepted_total", "route", "web"))
                    .isEqualTo(1);
            assertThat(page.value("strait_connections_closed_total", "route", "web", "cause", "client_close"))
                    .isEqualTo(1);
            assertThat(page.value("strait_bytes_from_client_total", "route", "web", "backend", backend.address()))
                    .isEqualTo(5);
            assertThat(page.value("strait_bytes_from_backend_total", "route", "web", "backend", backend.address()))
                    .isEqualTo(5);
            assertThat(page.value("strait_backend_connect_seconds_count", "route", "web", "backend", backend.address()))
                    .isEqualTo(1);
            assertThat(page.value("strait_connection_duration_seconds_count", "route", "web"))
                    .isEqualTo(1);
            assertThat(page.value("strait_queue_wait_seconds_count", "route", "web"))
                    .isEqualTo(1);
            assertThat(page.value("strait_connections_active", "route", "web")).isZero();
        });
    }

    @Test
    void countsAFailedConnectAndTheClientNoBackendTook() throws Exception {
        try (Socket client = connect("dead")) {
            assertClosedByProxyWithin(client, 10_000, "a client whose only backend refuses");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Scrape page = scrape();
            assertThat(page.value(
                            "strait_backend_connect_failures_total",
                            "route",
                            "dead",
                            "backend",
                            "127.0.0.9:" + closedPort))
                    .isEqualTo(1);
            assertThat(page.value("strait_no_backend_total", "route", "dead")).isEqualTo(1);
            assertThat(page.value("strait_connections_closed_total", "route", "dead", "cause", "connect_refused"))
                    .isEqualTo(1);
        });
    }

    @Test
    void countsDeniedAndRefusedClientsByCause() throws Exception {
        try (Socket client = connect("denied")) {
            assertClosedByProxyWithin(client, 10_000, "a denied client");
        }
        try (Socket first = connect("full")) {
            assertEchoes(first, "in");
            try (Socket second = connect("full")) {
                assertClosedByProxyWithin(second, 10_000, "a client over the limit");
            }
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Scrape page = scrape();
            assertThat(page.value("strait_denied_total", "route", "denied")).isEqualTo(1);
            assertThat(page.value("strait_connections_closed_total", "route", "denied", "cause", "denied"))
                    .isEqualTo(1);
            assertThat(page.value("strait_refused_total", "route", "full")).isEqualTo(1);
            assertThat(page.value("strait_connections_closed_total", "route", "full", "cause", "limit"))
                    .isEqualTo(1);
            assertThat(page.value("strait_connections_accepted_total", "route", "denied"))
                    .as("a denied client is never admitted")
                    .isZero();
        });
    }

    @Test
    void countsAnIdleTimeoutAsItsCause() throws Exception {
        try (Socket client = connect("idle")) {
            assertEchoes(client, "then nothing");
            assertClosedByProxyWithin(client, 10_000, "an idle client");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                        scrape().value("strait_connections_closed_total", "route", "idle", "cause", "idle_timeout"))
                .isEqualTo(1));
    }

    @Test
    void exportsBuildInfoDescriptorsAndDirectMemory() throws Exception {
        Scrape page = scrape();

        assertThat(page.value("strait_build_info", "version", "unknown")).isEqualTo(1);
        assertThat(page.value("process_open_fds")).isPositive();
        assertThat(page.value("process_max_fds")).isGreaterThanOrEqualTo(page.value("process_open_fds"));
        assertThat(page.find("strait_direct_memory_used_bytes")).isPresent();
        assertThat(page.value("strait_access_log_dropped_total")).isZero();
    }

    /** Promtool is what Prometheus users run in CI on an exporter's output; it must find nothing to complain of. */
    @Test
    void servesAPageThatPromtoolAcceptsWithoutAComplaint(@TempDir Path dir) throws Exception {
        try (Socket client = connect("web")) {
            assertEchoes(client, "traffic first, so that every kind of series has samples");
            try (Socket refused = connect("dead")) {
                assertClosedByProxyWithin(refused, 10_000, "a client whose only backend refuses");
            }
            HttpResponse<String> response = get("/metrics");
            assertThat(response.headers().firstValue("content-type"))
                    .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
            Path page = dir.resolve("metrics.txt");
            Files.writeString(page, response.body());

            Process promtool = new ProcessBuilder("promtool", "check", "metrics")
                    .redirectInput(page.toFile())
                    .redirectErrorStream(true)
                    .start();
            assertThat(promtool.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String complaints = new String(promtool.getInputStream().readAllBytes());
            assertThat(complaints)
                    .as("promtool's output on\n%s", response.body())
                    .isEmpty();
            assertThat(promtool.exitValue()).isZero();
        }
    }

    private Socket connect(String route) throws IOException {
        Socket socket = new Socket("127.0.0.1", server.boundAddress(route).getPort());
        socket.setSoTimeout(15_000);
        return socket;
    }

    private Scrape scrape() throws Exception {
        return Scrape.of(get("/metrics").body());
    }

    private HttpResponse<String> get(String path) throws Exception {
        URI uri = URI.create(
                "http://127.0.0.1:" + server.adminAddress().orElseThrow().getPort() + path);
        return http.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
