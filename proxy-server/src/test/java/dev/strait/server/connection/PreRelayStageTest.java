package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.advance;
import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static dev.strait.server.connection.FrontendLifecycleTest.ascii;
import static dev.strait.server.connection.FrontendLifecycleTest.readAscii;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pre-relay stage contract, driven by a tiny test-only stage: hand-over order, FIN, deadline, absence. */
class PreRelayStageTest {
    private static final Duration STAGE_DEADLINE = Duration.ofSeconds(2);
    private EmbeddedRoute route;

    /** Holds the client's bytes until it has sent a whole first line, then hands over. */
    static final class FirstLineStage extends PreRelayStage {
        FirstLineStage(StageHost host) {
            super("first-line", STAGE_DEADLINE, CloseCause.STAGE_TIMEOUT, host);
        }

        @Override
        protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
            boolean endOfLine = msg.indexOf(msg.readerIndex(), msg.writerIndex(), (byte) '\n') >= 0;
            hold(msg);
            if (endOfLine) {
                handOver();
            }
        }
    }

    @AfterEach
    void finish() {
        route.finish();
    }

    @Test
    void handsTheHeldBytesToTheBackendFirstThenWhatFollows() {
        route = withStage(Limits.NONE);
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);

        client.writeInbound(ascii("hel"));
        assertThat(connection.state()).isEqualTo(new ConnectionState.Staging("first-line"));
        assertThat(route.dials).as("no backend is chosen while the stage runs").isEmpty();
        client.writeInbound(ascii("lo\nrest"));
        assertThat(client.pipeline().get("first-line"))
                .as("removed on hand-over")
                .isNull();
        client.writeInbound(ascii("-after"));
        route.lastDial().promise().setSuccess();

        assertThat(readAscii(route.lastDial().channel())).isEqualTo("hello\nrest-after");
        assertThat(connection.state().name()).isEqualTo("relaying");
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void handsAnEarlyFinOverAfterTheHeldBytes() {
        route = withStage(Limits.NONE);
        EmbeddedChannel client = route.accept();

        client.writeInbound(ascii("no line"));
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        route.lastDial().promise().setSuccess();

        EmbeddedChannel backend = route.lastDial().channel();
        assertThat(readAscii(backend)).isEqualTo("no line");
        assertThat(backend.isOpen())
                .as("the FIN, replayed after the bytes, ends the backend's input")
                .isFalse();
        client.finishAndReleaseAll();
    }

    @Test
    void closesTheClientWithTheStageCauseWhenItsDeadlinePasses() {
        route = withStage(Limits.NONE);
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii("no line yet"));

        advance(client, STAGE_DEADLINE);

        assertThat(client.isOpen()).isFalse();
        assertThat(route.dials).isEmpty();
        assertThat(((ConnectionState.Closed) route.closed.get(0).state()).cause())
                .isEqualTo(CloseCause.STAGE_TIMEOUT);
        assertThat(route.runtime.metrics().active()).isZero();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void runsAfterTheWaitForASlotAndSeesBytesReadBeforeItsTurnFirst() {
        route = withStage(new Limits(1, OnLimit.QUEUE, 0, 0));
        EmbeddedChannel first = route.accept();
        EmbeddedChannel second = route.accept();
        second.writeInbound(ascii("early\n")); // read before its turn (a native transport draining a FIN)
        assertThat(route.connectionOf(second).state().name()).isEqualTo("waiting-for-slot");

        first.finishAndReleaseAll();
        second.runPendingTasks();
        route.lastDial().promise().setSuccess();

        assertThat(readAscii(route.lastDial().channel())).isEqualTo("early\n");
        second.finishAndReleaseAll();
    }

    @Test
    void aWakeUpLeftFromTheSlotWaitDoesNotEndTheStageThatFollows() {
        route = withStage(new Limits(1, OnLimit.QUEUE, 0, 0));
        EmbeddedChannel first = route.accept();
        EmbeddedChannel second = route.accept();

        first.finishAndReleaseAll(); // a slot: wakes the second client
        route.waiters.wakeAll(); // and another event, queued behind it
        second.runPendingTasks();

        assertThat(second.isOpen()).isTrue();
        assertThat(route.connectionOf(second).state()).isEqualTo(new ConnectionState.Staging("first-line"));
        second.finishAndReleaseAll();
    }

    @Test
    void aPlainRouteHasNoStageAndNoExtraHandler() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();

        assertThat(client.pipeline().toMap().keySet()).containsExactly("frontend");
        route.lastDial().promise().setSuccess();
        assertThat(client.pipeline().toMap().keySet()).containsExactly("relay");
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    private static EmbeddedRoute withStage(Limits limits) {
        return new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), limits, AccessList.OPEN),
                List.of(FirstLineStage::new));
    }
}
