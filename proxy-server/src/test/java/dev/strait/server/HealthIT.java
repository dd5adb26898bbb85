package dev.strait.server;

import static dev.strait.server.support.Clients.echo;
import static dev.strait.server.support.LoopbackBackend.readTag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.HealthCheck;
import dev.strait.config.PassiveCheck;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Active and passive health checks over real sockets: a backend that stops answering (or answers wrongly) gets no new
 * connections once it is marked down, and gets them again once it is back.
 */
class HealthIT {
    /**
     * Probe interval and timeout. 100ms flaked on a loaded 2-core machine (a probe answered late twice in a row takes a
     * good backend down); 400ms keeps every wait here a few seconds.
     */
    private static final Duration PROBE_EVERY = Duration.ofMillis(400);

    private static final TransportKind TRANSPORT = TransportKind.AUTO;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    @Test
    void sendsNoNewConnectionToAKilledBackendAfterFallChecksAndUsesItAgainAfterRise() throws Exception {
        try (LoopbackBackend a = LoopbackBackend.restartable(LoopbackBackend.tagAndClose(0));
                LoopbackBackend b = LoopbackBackend.restartable(LoopbackBackend.tagAndClose(1))) {
            RunningProxy proxy = strait.start(TRANSPORT, route(check(false), PassiveCheck.DISABLED, a, b));
            assertThat(connect(proxy, 20))
                    .as("both up: connections per backend")
                    .containsExactly(10, 10);

            b.stop();
            awaitHealthy(proxy, 1, false);
            long failuresBefore = metrics(proxy).backendConnectFailuresTotal();
            assertThat(connect(proxy, 200))
                    .as("B down: connections per backend")
                    .containsExactly(200, 0);
            assertThat(metrics(proxy).backendConnectFailuresTotal())
                    .as("connect attempts to B after it was marked down")
                    .isEqualTo(failuresBefore);

            b.start();
            awaitHealthy(proxy, 1, true);
            int[] after = connect(proxy, 20);
            assertThat(after[1]).as("connections to B once it is back").isPositive();
            assertThat(after[0] + after[1]).isEqualTo(20);
        }
    }

    @Test
    void marksDownABackendThatAnswersTheCheckWrongly() throws Exception {
        try (LoopbackBackend good = LoopbackBackend.restartable(answering("+PONG\r\n"));
                LoopbackBackend bad = LoopbackBackend.restartable(answering("-ERR unknown command\r\n"))) {
            HealthCheck check = new HealthCheck(
                    PROBE_EVERY, PROBE_EVERY, 2, 2, Optional.of("PING\r\n"), Optional.of("+PONG"), false);
            RunningProxy proxy = strait.start(TRANSPORT, route(check, PassiveCheck.DISABLED, good, bad));
            awaitHealthy(proxy, 1, false);
            // Several more rounds: the good one stays up.
            await().during(PROBE_EVERY.multipliedBy(5))
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().backends("test").get(0).healthy());
            assertThat(proxy.server().backends("test").get(1).healthy())
                    .as("the wrongly answering backend stays down")
                    .isFalse();
        }
    }

    @Test
    void closesEstablishedConnectionsToABackendThatGoesDownWhenCloseOnDownIsSet() throws Exception {
        try (LoopbackBackend a = LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(0));
                LoopbackBackend b = LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(1))) {
            RunningProxy proxy = strait.start(TRANSPORT, route(check(true), PassiveCheck.DISABLED, a, b));
            try (Socket client = proxy.connect()) {
                assertThat(readTag(client)).as("first connection goes to A").isZero();
                assertThat(echo(client, "before")).isEqualTo("before");

                a.stopAccepting(); // checks fail, the established connection itself is untouched by A
                awaitHealthy(proxy, 0, false);

                client.setSoTimeout(5000);
                assertThat(readUntilClosed(client.getInputStream()))
                        .as("the proxy closed the connection to the downed backend")
                        .isTrue();
                await().atMost(Duration.ofSeconds(5)).until(() -> a.liveConnections() == 0);
            }
        }
    }

    @Test
    void keepsEstablishedConnectionsToABackendThatGoesDownWithoutCloseOnDown() throws Exception {
        try (LoopbackBackend a = LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(0));
                LoopbackBackend b = LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(1))) {
            RunningProxy proxy = strait.start(TRANSPORT, route(check(false), PassiveCheck.DISABLED, a, b));
            try (Socket client = proxy.connect()) {
                assertThat(readTag(client)).as("first connection goes to A").isZero();

                a.stopAccepting();
                awaitHealthy(proxy, 0, false);

                assertThat(echo(client, "after A went down")).isEqualTo("after A went down");
            }
        }
    }

    @Test
    void passiveCheckTakesOutABackendAfterFailedConnectsAndBringsItBackAfterTheCoolOff() throws Exception {
        try (LoopbackBackend a = LoopbackBackend.restartable(LoopbackBackend.tagAndClose(0));
                LoopbackBackend b = LoopbackBackend.restartable(LoopbackBackend.tagAndClose(1))) {
            a.stop(); // refused until restarted
            PassiveCheck passive = new PassiveCheck(2, Duration.ofSeconds(1));
            RunningProxy proxy = strait.start(TRANSPORT, route(null, passive, a, b));
            Backend backendA = proxy.server().backends("test").get(0);
            // Round-robin picks A for about every other client; each refused connect is retried on B.
            int clients = 0;
            while (backendA.healthy() && clients < 10) {
                assertThat(connect(proxy, 1))
                        .as("client %d, while A refuses", clients)
                        .containsExactly(0, 1);
                clients++;
            }
            long downAt = System.nanoTime();
            assertThat(backendA.healthy()).as("A after %d clients", clients).isFalse();
            long failures = metrics(proxy).backendConnectFailuresTotal();
            assertThat(failures).as("refused connects that took A down").isEqualTo(2);

            a.start();
            assertThat(connect(proxy, 10))
                    .as("connections per backend while A cools off")
                    .containsExactly(0, 10);
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(10))
                    .until(backendA::healthy);
            long outForMillis = (System.nanoTime() - downAt) / 1_000_000;
            assertThat(outForMillis)
                    .as("A was out for the 1s cool-off (measured %dms)", outForMillis)
                    .isGreaterThanOrEqualTo(900);

            int[] after = connect(proxy, 10);
            assertThat(after[0]).as("connections to A after its cool-off").isPositive();
            assertThat(metrics(proxy).backendConnectFailuresTotal())
                    .as("no refused connects after A came back")
                    .isEqualTo(failures);
        }
    }

    /** Opens {@code count} connections one after another; returns how many each backend (by tag) served. */
    private static int[] connect(RunningProxy proxy, int count) throws IOException {
        int[] served = new int[2];
        for (int i = 0; i < count; i++) {
            try (Socket client = proxy.connect()) {
                served[readTag(client)]++;
            }
        }
        return served;
    }

    /** Reads to end of stream (or a reset); false if the connection was still open after the socket's timeout. */
    private static boolean readUntilClosed(InputStream in) throws IOException {
        try {
            while (in.read() >= 0) {
                // discard
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException reset) {
            return true;
        }
    }

    /** Reads one request line, answers {@code reply} and closes, as a server with a line protocol would. */
    private static LoopbackBackend.Handler answering(String reply) {
        return socket -> {
            try (socket) {
                InputStream in = socket.getInputStream();
                for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
                    // skip the request line
                }
                socket.getOutputStream().write(reply.getBytes(StandardCharsets.US_ASCII));
            }
        };
    }

    private static void awaitHealthy(RunningProxy proxy, int index, boolean healthy) {
        await().atMost(Duration.ofSeconds(10))
                .until(() -> proxy.server().backends("test").get(index).healthy() == healthy);
    }

    private static RouteMetrics metrics(RunningProxy proxy) {
        return proxy.server().routeMetrics().get("test");
    }

    /** Every {@link #PROBE_EVERY}, as long to answer, up after 2 good probes, down after 2 failed ones. */
    private static HealthCheck check(boolean closeOnDown) {
        return new HealthCheck(PROBE_EVERY, PROBE_EVERY, 2, 2, Optional.empty(), Optional.empty(), closeOnDown);
    }

    /** Route {@code test}, round-robin over the backends in order, with the given checks ({@code null}: no active). */
    private static TestRoutes.Builder route(HealthCheck check, PassiveCheck passive, LoopbackBackend... backends) {
        return TestRoutes.route("test")
                .backends(Arrays.stream(backends).map(LoopbackBackend::address).toArray(String[]::new))
                .healthCheck(check)
                .passiveCheck(passive);
    }
}
