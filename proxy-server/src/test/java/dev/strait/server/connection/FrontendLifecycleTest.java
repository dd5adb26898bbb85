package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.advance;
import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Cidr;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A connection's way to the relay: admission, the one wait, retries, giving up, each with its close cause. */
class FrontendLifecycleTest {
    private static final Duration NO_WAIT = Duration.ZERO;
    private EmbeddedRoute route;

    @AfterEach
    void finish() {
        route.finish();
    }

    @Test
    void admitsConnectsAndHandsTheHeldBytesToTheBackendFirst() {
        route = new EmbeddedRoute(route(1, 0, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii("early"));
        ProxiedConnection connection = route.connectionOf(client);
        assertThat(connection.state()).isInstanceOf(ConnectionState.Connecting.class);
        assertThat(route.backend(0).activeConnections()).isEqualTo(1);

        route.lastDial().promise().setSuccess();

        assertThat(connection.state().name()).isEqualTo("relaying");
        assertThat(client.pipeline().names()).startsWith("relay");
        assertThat(readAscii(route.lastDial().channel())).isEqualTo("early");
        assertThat(route.runtime.metrics().active()).isEqualTo(1);
        assertThat(client.finishAndReleaseAll()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.CLIENT_CLOSE);
        assertThat(route.runtime.metrics().active()).isZero();
        assertThat(route.backend(0).activeConnections()).isZero();
        assertThat(route.registry.size()).isZero();
    }

    @Test
    void retriesTheNextBackendWhenAConnectFailsWithoutSpendingTheBackendsCount() {
        route = new EmbeddedRoute(route(2, 1, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        EmbeddedChannel client = route.accept();

        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));

        assertThat(route.dials).hasSize(2);
        assertThat(route.connectionOf(client).state())
                .isEqualTo(new ConnectionState.Connecting(
                        route.backend(1), 2, route.lastDial().channel()));
        assertThat(route.backend(0).activeConnections()).isZero();
        assertThat(route.backend(1).activeConnections()).isOne();
        client.finishAndReleaseAll();
        assertThat(route.backend(1).activeConnections()).isZero();
    }

    /**
     * Two clients waiting on a capped backend that refuses: a failed attempt must not wake the other waiter (it would
     * dial at once, fail, wake the first, and so on at network speed); retries keep the 100 ms pace.
     */
    @Test
    void clientsWaitingOnACappedBackendThatRefusesDoNotWakeEachOtherIntoAConnectStorm() {
        route = new EmbeddedRoute(EmbeddedRoute.capped(
                route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), Limits.NONE, open()), 10));
        EmbeddedChannel first = route.accept();
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));
        EmbeddedChannel second = route.accept();
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));
        int dialsSoFar = route.dials.size();

        for (int i = 0; i < 100; i++) { // no time passes: only wake-ups the failures themselves cause could dial
            EmbeddedRoute.Dial last = route.lastDial();
            if (!last.promise().isDone()) {
                last.promise().setFailure(new ConnectException("Connection refused"));
            }
            first.runPendingTasks();
            second.runPendingTasks();
        }

        assertThat(route.dials).as("dials while no time passed").hasSize(dialsSoFar);
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }

    @Test
    void givesUpWithConnectRefusedWhenTheRetriesRunOutAndClosesWithAFinAfterDraining() {
        route = new EmbeddedRoute(route(1, 0, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        EmbeddedChannel client = route.accept();

        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));

        assertThat(client.isOpen())
                .as("open until its unforwarded bytes are read and dropped")
                .isTrue();
        assertThat(client.config().isAutoRead()).isTrue();
        advance(client, Duration.ofMillis(FrontendHandler.UNSERVED_DRAIN_MILLIS));
        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.CONNECT_REFUSED);
        assertThat(route.runtime.metrics().noBackendTotal()).isOne();
        assertThat(route.runtime.metrics().active()).isZero();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void givesUpWithConnectTimeoutWhenTheLastAttemptTimedOut() {
        route = new EmbeddedRoute(route(1, 0, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        EmbeddedChannel client = route.accept();

        route.lastDial().promise().setFailure(new ConnectTimeoutException("connection timed out"));
        client.writeInbound(ascii("dropped")); // read while draining: dropped, and the client closed with a FIN

        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.CONNECT_TIMEOUT);
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void waitsForABackendThatComesUpAndIsWokenByItNotByATick() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        route.backend(0).setHealthy(false);
        EmbeddedChannel client = route.accept();
        assertThat(route.connectionOf(client).state())
                .isEqualTo(new ConnectionState.WaitingForBackend(deadline(client)));
        advance(client, Duration.ofSeconds(5));
        assertThat(route.dials).as("no connect while the only backend is down").isEmpty();

        route.runtime.pool().markHealthy(route.backend(0));
        client.runPendingTasks();

        assertThat(route.dials).hasSize(1);
        assertThat(route.waiters.size()).isZero();
        client.finishAndReleaseAll();
    }

    @Test
    void waitsForABackendAtItsCapAndIsWokenWhenItsCountGoesDown() {
        route = new EmbeddedRoute(EmbeddedRoute.capped(
                route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), Limits.NONE, open()), 1));
        EmbeddedChannel first = route.accept();
        route.lastDial().promise().setSuccess();
        EmbeddedChannel second = route.accept();
        assertThat(route.connectionOf(second).state().name()).isEqualTo("waiting");
        advance(second, Duration.ofSeconds(5));
        assertThat(route.dials)
                .as("no connect, no retry, while the only backend is full")
                .hasSize(1);

        first.finishAndReleaseAll(); // the backend's count goes down
        second.runPendingTasks();

        assertThat(route.dials).hasSize(2);
        assertThat(route.connectionOf(second).state()).isInstanceOf(ConnectionState.Connecting.class);
        second.finishAndReleaseAll();
    }

    @Test
    void retriesABackendBelievedUpThatRefusedAfterAPauseUntilTheDeadline() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(1), Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        EmbeddedChannel client = route.accept();
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));
        assertThat(route.connectionOf(client).state().name()).isEqualTo("waiting");

        advance(client, Duration.ofMillis(BackendConnector.RETRY_MILLIS));
        assertThat(route.dials).hasSize(2);
        route.lastDial().promise().setFailure(new ConnectException("Connection refused"));

        advance(client, Duration.ofSeconds(1));
        advance(client, Duration.ofMillis(FrontendHandler.UNSERVED_DRAIN_MILLIS));
        assertThat(client.isOpen()).isFalse();
        assertThat(route.dials).as("retried every 100ms until the deadline").hasSizeLessThanOrEqualTo(11);
        assertThat(causeOf(0)).isEqualTo(CloseCause.CONNECT_REFUSED);
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void givesUpWithNoBackendAtTheDeadlineWhenNoneCameUp() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(2), Duration.ZERO, Duration.ZERO), Limits.NONE, open()));
        route.backend(0).setHealthy(false);
        EmbeddedChannel client = route.accept();

        advance(client, Duration.ofSeconds(2));
        advance(client, Duration.ofMillis(FrontendHandler.UNSERVED_DRAIN_MILLIS));

        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.NO_BACKEND);
        assertThat(route.waiters.size()).isZero();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void waitsForASlotUnderTheSameDeadlineAndIsAdmittedWhenOneIsReleased() {
        Limits one = new Limits(1, OnLimit.QUEUE, 0, 0);
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), one, open()));
        EmbeddedChannel first = route.accept();
        EmbeddedChannel second = route.accept();
        assertThat(route.connectionOf(second).state().name()).isEqualTo("waiting-for-slot");

        first.finishAndReleaseAll(); // releases the slot: the waiting client is woken
        second.runPendingTasks();

        assertThat(route.connectionOf(second).state()).isInstanceOf(ConnectionState.Connecting.class);
        assertThat(route.runtime.metrics().acceptedTotal()).isEqualTo(2);
        second.finishAndReleaseAll();
    }

    @Test
    void closesAClientStillWaitingForASlotAtTheDeadlineWithLimit() {
        Limits one = new Limits(1, OnLimit.QUEUE, 0, 0);
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(3), Duration.ZERO, Duration.ZERO), one, open()));
        EmbeddedChannel first = route.accept();
        EmbeddedChannel second = route.accept();

        advance(second, Duration.ofSeconds(3));

        assertThat(second.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.LIMIT);
        assertThat(route.runtime.metrics().refusedTotal()).isOne();
        assertThat(route.waiters.size()).isZero();
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }

    @Test
    void doesNotWaitForASlotWhenTheQueueTimeoutIsZero() {
        Limits one = new Limits(1, OnLimit.QUEUE, 0, 0);
        route = new EmbeddedRoute(route(1, 0, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), one, open()));
        EmbeddedChannel first = route.accept();
        EmbeddedChannel second = route.accept();

        assertThat(second.isOpen()).isFalse();
        assertThat(second.pipeline().names())
                .as("no pipeline for a refused client")
                .hasSize(1);
        assertThat(causeOf(0)).isEqualTo(CloseCause.LIMIT);
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }

    @Test
    void closesADeniedClientWithDenied() {
        AccessList denyAll =
                new AccessList(List.of(), List.of(Cidr.parse("deny", "0.0.0.0/0"), Cidr.parse("deny", "::/0")));
        route = new EmbeddedRoute(route(1, 0, timeouts(NO_WAIT, Duration.ZERO, Duration.ZERO), Limits.NONE, denyAll));
        EmbeddedChannel client = route.accept();

        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.DENIED);
        assertThat(route.runtime.metrics().deniedTotal()).isOne();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    static AccessList open() {
        return AccessList.OPEN;
    }

    private CloseCause causeOf(int index) {
        return ((ConnectionState.Closed) route.closed.get(index).state()).cause();
    }

    private long deadline(EmbeddedChannel client) {
        return ((ConnectionState.WaitingForBackend) route.connectionOf(client).state()).deadlineNanos();
    }

    static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    static String readAscii(EmbeddedChannel channel) {
        StringBuilder all = new StringBuilder();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            all.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return all.toString();
    }
}
