package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.advance;
import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.relay.RelayListener;
import dev.strait.server.lifecycle.CloseCause;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.ConnectException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The facts the owner records for the access log and the metrics where they happen: connect attempts, the time the
 * successful connect took, the time spent waiting, Strait's own address towards the backend, and who ended first.
 */
class ConnectionFactsTest {
    /** Real time a test may take on a loaded machine, on top of the time it advances. */
    private static final Duration SLACK = Duration.ofSeconds(5);

    private EmbeddedRoute route;

    @AfterEach
    void finish() {
        route.finish();
    }

    @Test
    void recordsEveryAttemptAndTheTimeOfTheOneThatConnected() {
        route = new EmbeddedRoute(
                route(2, 1, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);
        advance(client, Duration.ofMillis(30));
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));
        advance(client, Duration.ofMillis(20));

        route.lastDial().promise().setSuccess();

        assertThat(connection.attempts()).isEqualTo(2);
        assertThat(connection.connectNanos())
                .as("the second attempt's 20ms, plus the real time the test took (the embedded loop's clock runs)")
                .isBetween(
                        Duration.ofMillis(20).toNanos(),
                        Duration.ofMillis(20).plus(SLACK).toNanos());
        assertThat(connection.waitNanos()).isZero();
        assertThat(connection.backendLocal())
                .isEqualTo(route.lastDial().channel().localAddress());
        assertThat(connection.closedFirst()).as("nobody has ended yet").isNull();
        client.finishAndReleaseAll();
        assertThat(connection.closedFirst()).isEqualTo(ProxiedConnection.Side.CLIENT);
        assertThat(route.runtime.metrics().closedTotal(CloseCause.CLIENT_CLOSE)).isOne();
    }

    @Test
    void countsTheWaitForABackendThatRefusedUntilItsRetry() {
        route = new EmbeddedRoute(route(
                1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));

        advance(client, Duration.ofMillis(BackendConnector.RETRY_MILLIS));
        route.lastDial().promise().setSuccess();

        assertThat(connection.attempts()).isEqualTo(2);
        Duration retry = Duration.ofMillis(BackendConnector.RETRY_MILLIS);
        assertThat(connection.waitNanos())
                .isBetween(retry.toNanos(), retry.plus(SLACK).toNanos());
        client.finishAndReleaseAll();
    }

    @Test
    void saysTheBackendEndedFirstWhenItsFinCameBeforeTheClientsClose() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);
        route.lastDial().promise().setSuccess();

        connection.ended("backend", RelayListener.End.FIN);
        connection.ended("frontend", RelayListener.End.CLOSED);
        client.finishAndReleaseAll();

        assertThat(connection.closedFirst()).isEqualTo(ProxiedConnection.Side.BACKEND);
        assertThat(route.runtime.metrics().closedTotal(CloseCause.BACKEND_CLOSE))
                .isOne();
    }

    @Test
    void saysTheProxyEndedFirstWhenATimeoutClosedTheConnection() {
        route = new EmbeddedRoute(route(
                1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(5)), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);
        route.lastDial().promise().setSuccess();

        advance(client, Duration.ofSeconds(5));

        assertThat(client.isOpen()).isFalse();
        assertThat(connection.closedFirst()).isEqualTo(ProxiedConnection.Side.PROXY);
        assertThat(route.runtime.metrics().closedTotal(CloseCause.MAX_LIFETIME)).isOne();
        client.finishAndReleaseAll();
    }
}
