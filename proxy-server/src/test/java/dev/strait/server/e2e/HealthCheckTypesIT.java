package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.strait.balance.Backend;
import dev.strait.balance.CheckResult;
import dev.strait.config.HealthCheck;
import dev.strait.config.HealthCheckType;
import dev.strait.config.HttpCheck;
import dev.strait.config.PostgresLogin;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Health checks that tell a primary from a replica, each against the real thing: an HTTP server standing in for
 * Patroni's REST API, two redis-servers whose roles are switched with {@code REPLICAOF}, and PostgreSQL 15 checked
 * with its own startup handshake, whose log must stay free of connection resets.
 *
 * <p>The checks run every 100-200ms instead of the default 2s so that a switchover settles, and many probes run, in
 * a few seconds. "Within one fall period" allows, besides {@code fall} intervals, one probe timeout and a second of
 * scheduling slack for a loaded 2-core CI machine.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HealthCheckTypesIT {
    private static final Duration INTERVAL = Duration.ofMillis(100);
    private static final int FALL = 2;
    private static final Duration ONE_FALL_PERIOD =
            INTERVAL.multipliedBy(FALL).plus(INTERVAL).plus(Duration.ofSeconds(1));
    private static final InetAddress SECOND_LOOPBACK = address("127.0.0.2");

    @TempDir
    Path dir;

    @Test
    void sendsClientsOnlyToTheBackendWhosePatroniAnswersPrimaryWith200() throws Exception {
        AtomicBoolean aIsPrimary = new AtomicBoolean(true);
        AtomicReference<String> host = new AtomicReference<>();
        try (PatroniStandIn patroniA =
                        PatroniStandIn.start(InetAddress.getLoopbackAddress(), 0, aIsPrimary::get, host);
                PatroniStandIn patroniB = PatroniStandIn.start(
                        SECOND_LOOPBACK, patroniA.port(), () -> !aIsPrimary.get(), new AtomicReference<>());
                LoopbackBackend a = LoopbackBackend.restartable(
                        InetAddress.getLoopbackAddress(), 0, LoopbackBackend.tagAndClose(0));
                LoopbackBackend b = LoopbackBackend.restartable(SECOND_LOOPBACK, 0, LoopbackBackend.tagAndClose(1));
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        route(
                                check(
                                        Optional.of(patroniA.port()),
                                        HealthCheckType.TCP,
                                        Optional.of(new HttpCheck("/primary", 200, Optional.empty()))),
                                a.address(),
                                b.address()))) {
            assertThat(patroniB.port())
                    .as("both Patronis on one port, as healthCheck.port wants")
                    .isEqualTo(patroniA.port());
            awaitRoles(proxy, true, false);
            assertThat(tags(proxy, 10)).as("clients while A is primary").containsOnly(0);
            assertThat(lastCheck(proxy, 1).reason()).isEqualTo("HTTP 503 (expected 200)");
            assertThat(host.get())
                    .as("the Host header: the probed address and Patroni's port")
                    .isEqualTo("127.0.0.1:" + patroniA.port());

            aIsPrimary.set(false);
            long switched = System.nanoTime();
            awaitRoles(proxy, false, true);
            assertThat(Duration.ofNanos(System.nanoTime() - switched)).isLessThanOrEqualTo(ONE_FALL_PERIOD);
            assertThat(tags(proxy, 10)).as("clients once B is primary").containsOnly(1);
            assertThat(lastCheck(proxy, 1).reason()).isEqualTo("HTTP 200");
        }
    }

    @Test
    void sendsClientsOnlyToTheRedisMasterAcrossAReplicaofSwitch() throws Exception {
        Path dirA = Files.createDirectories(dir.resolve("a"));
        Path dirB = Files.createDirectories(dir.resolve("b"));
        try (RedisServer a = RedisServer.start(dirA, Fixtures.logFile(HealthCheckTypesIT.class, "redis-a"));
                RedisServer b = RedisServer.start(dirB, Fixtures.logFile(HealthCheckTypesIT.class, "redis-b"))) {
            replicaof(b, "127.0.0.1", String.valueOf(a.port()));
            HealthCheck check = new HealthCheck(
                    INTERVAL,
                    INTERVAL,
                    1,
                    FALL,
                    // QUIT makes Redis close after the reply, so a replica's reply ends and fails at once.
                    Optional.of("INFO replication\r\nQUIT\r\n"),
                    Optional.empty(),
                    false,
                    Optional.empty(),
                    HealthCheckType.TCP,
                    Optional.empty(),
                    Optional.of("role:master"),
                    PostgresLogin.DEFAULT,
                    false);
            try (RunningProxy proxy = RunningProxy.start(
                    TransportKind.AUTO, route(check, "127.0.0.1:" + a.port(), "127.0.0.1:" + b.port()))) {
                awaitRoles(proxy, true, false);
                assertThat(redisPorts(proxy, 10)).as("servers that got clients").containsOnly(a.port());
                assertThat(lastCheck(proxy, 1).reason()).startsWith("no \"role:master\" in the first");

                replicaof(b, "NO", "ONE");
                replicaof(a, "127.0.0.1", String.valueOf(b.port()));
                long switched = System.nanoTime();
                awaitRoles(proxy, false, true);
                assertThat(Duration.ofNanos(System.nanoTime() - switched)).isLessThanOrEqualTo(ONE_FALL_PERIOD);
                assertThat(redisPorts(proxy, 10)).as("servers that got clients").containsOnly(b.port());
                assertThat(lastCheck(proxy, 1).reason()).isEqualTo("reply contains \"role:master\"");
            }
        }
    }

    @Test
    void checksPostgresWithItsStartupHandshakeAndLeavesNoResetInItsLog() throws Exception {
        Path log = Fixtures.logFile(HealthCheckTypesIT.class, "postgres");
        // log_connections makes every probe leave one line, so the test can count them.
        try (PostgresServer postgres = PostgresServer.start(dir, log, List.of("log_connections=on"))) {
            int closedPort = Ports.freePort();
            String pg = "127.0.0.1:" + postgres.port();
            // 200ms, not 100ms: each probe forks a PostgreSQL backend, which takes a while on a busy machine.
            Duration interval = Duration.ofMillis(200);
            HealthCheck orderly = postgresCheck(interval, new PostgresLogin("postgres", "postgres"), false);
            try (RunningProxy proxy =
                    RunningProxy.start(TransportKind.AUTO, route(orderly, pg, "127.0.0.1:" + closedPort))) {
                awaitRoles(proxy, true, false);
                assertThat(lastCheck(proxy, 0).reason()).isEqualTo("PostgreSQL: authentication ok");
                // About 50 probes: the "a minute of checks" at 2s is 30.
                await().pollDelay(Duration.ofSeconds(10))
                        .atMost(Duration.ofSeconds(11))
                        .until(() -> true);
            }
            String text = postgres.logText();
            long probes =
                    text.lines().filter(l -> l.contains("connection received")).count();
            assertThat(probes).as("probes PostgreSQL saw in 10s").isGreaterThanOrEqualTo(30);
            assertThat(text.lines()
                            .filter(l -> l.contains("connection reset")
                                    || l.contains("could not receive data")
                                    || l.contains("incomplete startup packet")
                                    || l.contains("unexpected EOF")
                                    || l.contains("FATAL")
                                    || l.contains("ERROR")))
                    .as("alarming lines in %s after %d probes", log, probes)
                    .isEmpty();

            // The same check closing with a reset, as probes did before: the log check above would have seen it.
            HealthCheck resetting = postgresCheck(interval, new PostgresLogin("postgres", "postgres"), true);
            try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route(resetting, pg))) {
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> postgres.logText().contains("Connection reset by peer"));
                assertThat(lastCheck(proxy, 0).up()).isTrue();
            }

            // A role that does not exist: under trust authentication PostgreSQL says AuthenticationOk before it
            // looks the role up, so the default login passes (ProbeDialogTest covers an 'E' first reply).
            HealthCheck unknownRole = postgresCheck(interval, PostgresLogin.DEFAULT, false);
            try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route(unknownRole, pg))) {
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server()
                        .backends("test")
                        .get(0)
                        .lastCheck()
                        .isPresent());
                assertThat(lastCheck(proxy, 0).up()).isTrue();
                assertThat(lastCheck(proxy, 0).reason()).isEqualTo("PostgreSQL: authentication ok");
            }
        }
    }

    private static HealthCheck postgresCheck(Duration interval, PostgresLogin login, boolean reset) {
        return new HealthCheck(
                interval,
                interval,
                1,
                FALL,
                Optional.empty(),
                Optional.empty(),
                false,
                Optional.empty(),
                HealthCheckType.POSTGRES,
                Optional.empty(),
                Optional.empty(),
                login,
                reset);
    }

    private static HealthCheck check(Optional<Integer> port, HealthCheckType type, Optional<HttpCheck> http) {
        return new HealthCheck(
                INTERVAL,
                INTERVAL,
                1,
                FALL,
                Optional.empty(),
                Optional.empty(),
                false,
                port,
                type,
                http,
                Optional.empty(),
                PostgresLogin.DEFAULT,
                false);
    }

    /** Waits until backend 0 and backend 1 of route {@code test} are up or down as given. */
    private static void awaitRoles(RunningProxy proxy, boolean firstUp, boolean secondUp) {
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> {
                    List<Backend> backends = proxy.server().backends("test");
                    return backends.get(0).healthy() == firstUp
                            && backends.get(1).healthy() == secondUp;
                });
    }

    private static CheckResult lastCheck(RunningProxy proxy, int index) {
        return proxy.server().backends("test").get(index).lastCheck().orElseThrow();
    }

    /** The tags of the backends that {@code count} clients reached, one after another. */
    private static List<Integer> tags(RunningProxy proxy, int count) throws IOException {
        Integer[] tags = new Integer[count];
        for (int i = 0; i < count; i++) {
            try (Socket client = proxy.connect()) {
                tags[i] = LoopbackBackend.readTag(client);
            }
        }
        return List.of(tags);
    }

    /** The port of the redis-server each of {@code count} clients reached, checking that it is a master. */
    private static List<Integer> redisPorts(RunningProxy proxy, int count) throws IOException {
        Integer[] ports = new Integer[count];
        for (int i = 0; i < count; i++) {
            try (RespClient client = new RespClient(proxy.port(), Duration.ofSeconds(10))) {
                assertThat(((List<?>) client.call("ROLE")).get(0)).isEqualTo("master");
                ports[i] = Integer.parseInt((String) ((List<?>) client.call("CONFIG", "GET", "port")).get(1));
            }
        }
        return List.of(ports);
    }

    private static void replicaof(RedisServer server, String host, String port) throws IOException {
        try (RespClient client = new RespClient(server.port(), Duration.ofSeconds(10))) {
            assertThat(client.call("REPLICAOF", host, port)).asString().startsWith("OK");
        }
    }

    /** Route {@code test}, round-robin over the backends in order, checked by {@code check}. */
    private static Route route(HealthCheck check, String... backends) {
        return TestRoutes.route("test").backends(backends).healthCheck(check).build();
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Patroni's REST API as far as the check needs it: {@code GET /primary} is 200 on the leader, else 503. */
    private static final class PatroniStandIn implements AutoCloseable {
        private final HttpServer server;

        private PatroniStandIn(HttpServer server) {
            this.server = server;
        }

        /** Serves on {@code address:port} (0: any free port); records each request's Host header. */
        static PatroniStandIn start(
                InetAddress address, int port, BooleanSupplier primary, AtomicReference<String> host)
                throws IOException {
            HttpServer server;
            try {
                server = HttpServer.create(new InetSocketAddress(address, port), 16);
            } catch (BindException e) {
                throw new IOException("port " + port + " is taken on " + address + "; rerun", e);
            }
            server.createContext("/primary", exchange -> {
                host.set(exchange.getRequestHeaders().getFirst("Host"));
                exchange.getRequestBody().readAllBytes();
                byte[] body = (primary.getAsBoolean() ? "{\"role\": \"primary\"}" : "{\"role\": \"replica\"}")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(primary.getAsBoolean() ? 200 : 503, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
            return new PatroniStandIn(server);
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
