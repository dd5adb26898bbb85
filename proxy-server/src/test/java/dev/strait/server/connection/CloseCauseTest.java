package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.advance;
import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.config.Route;
import dev.strait.config.TlsConfig;
import dev.strait.relay.RelayListener;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.postgres.PostgresPreambleStage;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each close cause a unit test can drive, and the close path running once, releasing everything once. */
class CloseCauseTest {
    private static final Duration IDLE = Duration.ofSeconds(30);
    private EmbeddedRoute route;
    private EmbeddedChannel client;
    private EmbeddedChannel backend;
    private ProxiedConnection connection;

    /** A relaying connection on a route with these timeouts. */
    private void relaying(Duration idle, Duration maxLifetime) {
        relaying(route(1, 0, timeouts(Duration.ZERO, idle, maxLifetime), Limits.NONE, AccessList.OPEN));
    }

    /** A relaying connection on a plain route with no timeouts, or the same route terminating TLS. */
    private void relaying(boolean tls) {
        Route plain = route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN);
        relaying(
                tls
                        ? TestRoutes.from(plain)
                                .tls(TlsConfig.of(Path.of("unused.crt"), Path.of("unused.key")))
                                .build()
                        : plain);
    }

    private void relaying(Route config) {
        route = new EmbeddedRoute(config);
        client = route.accept();
        connection = route.connectionOf(client);
        route.lastDial().promise().setSuccess();
        backend = route.lastDial().channel();
        assertThat(connection.state()).isInstanceOf(ConnectionState.Relaying.class);
    }

    @AfterEach
    void finish() {
        client.finishAndReleaseAll();
        route.finish();
    }

    @Test
    void aBackendResetEndsTheConnectionWithBackendReset() {
        relaying(Duration.ZERO, Duration.ZERO);
        backend.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        assertClosedOnceWith(CloseCause.BACKEND_RESET);
    }

    @Test
    void aClientResetEndsTheConnectionWithClientReset() {
        relaying(Duration.ZERO, Duration.ZERO);
        client.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        assertClosedOnceWith(CloseCause.CLIENT_RESET);
    }

    @Test
    void aBackendFinFirstEndsTheConnectionWithBackendClose() {
        relaying(Duration.ZERO, Duration.ZERO);
        backend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertClosedOnceWith(CloseCause.BACKEND_CLOSE);
    }

    @Test
    void aClientFinFirstEndsTheConnectionWithClientClose() {
        relaying(Duration.ZERO, Duration.ZERO);
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertClosedOnceWith(CloseCause.CLIENT_CLOSE);
    }

    @Test
    void aNonIoFailureEndsTheConnectionWithError() {
        relaying(Duration.ZERO, Duration.ZERO);
        backend.pipeline().fireExceptionCaught(new IllegalStateException("a bug"));
        assertClosedOnceWith(CloseCause.ERROR);
    }

    @Test
    void theIdleTimeoutEndsTheConnectionWithIdleTimeout() {
        relaying(IDLE, Duration.ZERO);
        advance(client, IDLE);
        assertClosedOnceWith(CloseCause.IDLE_TIMEOUT);
    }

    @Test
    void theLifetimeCapEndsTheConnectionWithMaxLifetime() {
        relaying(Duration.ZERO, Duration.ofMinutes(1));
        advance(client, Duration.ofMinutes(1));
        assertClosedOnceWith(CloseCause.MAX_LIFETIME);
    }

    @Test
    void whenIdleTimeoutAndLifetimeFireTogetherTheFirstCauseWinsAndEverythingIsReleasedOnce() {
        relaying(IDLE, IDLE);
        advance(client, IDLE);
        assertThat(((ConnectionState.Closed) connection.state()).cause())
                .isIn(CloseCause.IDLE_TIMEOUT, CloseCause.MAX_LIFETIME);
        assertReleasedOnce();
    }

    @Test
    void anOperatorCloseRacingAShutdownKeepsTheFirstCause() {
        relaying(Duration.ZERO, Duration.ZERO);
        connection.close(CloseCause.ADMIN_CLOSE);
        route.registry.closeAll();
        connection.close(CloseCause.SHUTDOWN);
        assertClosedOnceWith(CloseCause.ADMIN_CLOSE);
    }

    @Test
    void aResetAfterAFinReplacesTheWeakCause() {
        relaying(Duration.ZERO, Duration.ZERO);
        connection.ended("frontend", RelayListener.End.FIN);
        connection.ended("backend", RelayListener.End.RESET);
        backend.close();
        assertClosedOnceWith(CloseCause.BACKEND_RESET);
    }

    @Test
    void aClientFinTimeoutAfterTheClientsFinEndsItWithClientFinTimeout() {
        relaying(Duration.ZERO, Duration.ZERO);
        connection.ended("frontend", RelayListener.End.FIN);
        connection.ended("frontend", RelayListener.End.FIN_TIMEOUT);
        client.close();
        assertClosedOnceWith(CloseCause.CLIENT_FIN_TIMEOUT);
    }

    @Test
    void aServerFinTimeoutAfterTheBackendClosedEndsItWithServerFinTimeout() {
        relaying(Duration.ZERO, Duration.ZERO);
        connection.ended("backend", RelayListener.End.CLOSED);
        connection.ended("backend", RelayListener.End.FIN_TIMEOUT);
        client.close();
        assertClosedOnceWith(CloseCause.SERVER_FIN_TIMEOUT);
    }

    @Test
    void theHealthCheckTakingTheBackendDownEndsItWithBackendDown() {
        relaying(Duration.ZERO, Duration.ZERO);
        assertThat(route.registry.closeConnectionsTo(route.backend(0))).isOne();
        assertClosedOnceWith(CloseCause.BACKEND_DOWN);
    }

    @Test
    void aShutdownEndsTheConnectionWithShutdown() {
        relaying(Duration.ZERO, Duration.ZERO);
        route.registry.closeAll();
        assertClosedOnceWith(CloseCause.SHUTDOWN);
    }

    @Test
    void aClientLeavingWhileConnectingAbandonsTheAttemptAndReleasesTheBackend() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        client = route.accept();
        connection = route.connectionOf(client);
        client.close();
        assertThat(route.lastDial().channel().isOpen()).as("the attempt").isFalse();
        route.lastDial().promise().setSuccess(); // lands after the close: ignored
        assertClosedOnceWith(CloseCause.CLIENT_CLOSE);
    }

    @Test
    void aTlsErrorThrownAfterTheSslHandlerClosedTheClientInTheSameTurnEndsItWithTlsError() {
        relaying(true);
        client.pipeline().addFirst(new SslHandlerRefusingARenegotiation());
        client.pipeline().fireChannelRead(Unpooled.wrappedBuffer(new byte[] {22, 3, 3}));
        assertClosedOnceWith(CloseCause.TLS_ERROR);
    }

    @Test
    void aTlsClientsCloseWithNoErrorAfterItStillEndsWithClientClose() {
        relaying(true);
        client.pipeline().close();
        assertClosedOnceWith(CloseCause.CLIENT_CLOSE);
    }

    @Test
    void aPlainRouteRunsTheClosePathAtTheCloseItself() {
        relaying(false);
        client.pipeline().close();
        assertThat(connection.state()).as("no task waited for").isInstanceOf(ConnectionState.Closed.class);
        assertClosedOnceWith(CloseCause.CLIENT_CLOSE);
    }

    @Test
    void thePostgresPreamblesDeadlineEndsItWithTlsHandshakeTimeoutCountedAsOne() {
        Duration handshakeTimeout = Duration.ofSeconds(5);
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN),
                List.of(PostgresPreambleStage.factory("test", handshakeTimeout)));
        client = route.accept();
        connection = route.connectionOf(client);
        assertThat(connection.state().name()).isEqualTo("stage:postgres");

        advance(client, handshakeTimeout); // the client never sends its SSLRequest

        assertClosedOnceWith(CloseCause.TLS_HANDSHAKE_TIMEOUT);
        assertThat(route.runtime.metrics().closedTotal(CloseCause.TLS_HANDSHAKE_TIMEOUT))
                .isOne();
        assertThat(route.runtime.metrics().tlsHandshakeTimeoutsTotal())
                .as("strait_tls_handshake_timeouts_total agrees with the cause")
                .isOne();
    }

    @Test
    void aTransitionFromAStateThatDoesNotAllowItIsRefused() {
        relaying(Duration.ZERO, Duration.ZERO);
        assertThatThrownBy(connection::admit).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> connection.waitForBackend(0)).isInstanceOf(IllegalStateException.class);
    }

    /**
     * What Netty's {@code SslHandler} does when its engine refuses a TLS 1.2 renegotiation: it closes the channel
     * inside its decode, then throws the engine's error (wrapped by the decoder) up the pipeline. An EmbeddedChannel
     * runs its queued tasks as soon as it is closed, so the error is fired from a close listener added after the
     * owner's: after the owner has seen the close, before any task runs, as on a real event loop.
     */
    private static final class SslHandlerRefusingARenegotiation extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.channel()
                    .closeFuture()
                    .addListener(closed -> ctx.fireExceptionCaught(
                            new DecoderException(new SSLHandshakeException("renegotiation refused"))));
            ctx.close();
        }
    }

    private void assertClosedOnceWith(CloseCause cause) {
        client.runPendingTasks();
        assertThat(client.isOpen()).isFalse();
        assertThat(connection.state()).isInstanceOf(ConnectionState.Closed.class);
        assertThat(((ConnectionState.Closed) connection.state()).cause()).isEqualTo(cause);
        assertReleasedOnce();
    }

    private void assertReleasedOnce() {
        assertThat(route.closed).as("close path runs").containsExactly(connection);
        assertThat(route.runtime.metrics().active()).as("route's active count").isZero();
        assertThat(route.backend(0).activeConnections()).as("backend's count").isZero();
        assertThat(route.registry.size()).isZero();
        assertThat(route.registry.snapshot()).isEmpty();
    }
}
