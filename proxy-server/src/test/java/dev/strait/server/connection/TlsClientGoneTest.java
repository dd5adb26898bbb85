package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.config.TlsConfig;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.EngineHandshake;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.termination.TlsStage;
import dev.strait.server.tls.ServerTls;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS client that leaves right after its handshake (a TLS health check, {@code openssl s_time}): its reset comes in
 * the same read as its Finished, and the connection closes without a backend dial and without writing a close_notify
 * into the reset socket. A client that stays is dialed for once that read is done; one that resets later, while its
 * backend is dialed or while relaying, gets no close_notify either. A JDK client engine talks to the
 * route's real pipeline over EmbeddedChannel.
 */
class TlsClientGoneTest {
    @TempDir
    static Path dir;

    static TlsConfig tls;
    static ServerTls serverTls;
    static SSLContext client;

    private final SocketLikeHead socket = new SocketLikeHead();
    private EmbeddedRoute route;
    private EmbeddedChannel channel;
    private ProxiedConnection connection;

    @BeforeAll
    static void certificates() throws Exception {
        TestPki.DbServer db = TestPki.dbServer(dir);
        tls = db.tls();
        serverTls = ServerTls.load("test", tls);
        client = db.client();
    }

    /**
     * A client of a TLS route that has finished its handshake: the read that carried its Finished is still in progress
     * (the transport has not yet fired its read-complete).
     */
    private void handshaken() throws Exception {
        route = new EmbeddedRoute(
                TestRoutes.from(route(
                                1,
                                0,
                                timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO),
                                Limits.NONE,
                                AccessList.OPEN))
                        .tls(tls)
                        .build(),
                List.of(host -> new TlsStage(serverTls, Duration.ofSeconds(10), () -> {}, host)));
        channel = route.accept();
        channel.pipeline().addFirst(socket);
        connection = route.connectionOf(channel);
        SSLEngine engine = client.createSSLEngine("db.test", 443);
        engine.setUseClientMode(true);
        EngineHandshake.run(engine, this::startRead, () -> {
            endRead();
            return Bytes.drainOutbound(channel);
        });
        assertThat(engine.getHandshakeStatus()).as("finished").isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
        assertThat(connection.state()).as("while its Finished is read").isInstanceOf(ConnectionState.Staging.class);
    }

    /** One read from the socket begins: its first bytes go up the pipeline. */
    private void startRead(byte[] bytes) {
        endRead();
        socket.reading = true;
        channel.pipeline().fireChannelRead(Unpooled.wrappedBuffer(bytes));
    }

    /** The read in progress ends, as the transport ends one: read-complete, then what was flushed meanwhile. */
    private void endRead() {
        if (socket.reading) {
            channel.pipeline().fireChannelReadComplete();
            socket.readDone();
        }
    }

    /** The read in progress ends with the client's reset: the transport's read-complete, then the error. */
    private void endReadWithReset() {
        channel.pipeline().fireChannelReadComplete(); // the session tickets are flushed here
        socket.writes = 0;
        channel.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        socket.readDone();
    }

    /**
     * Stands in for a socket's transport at the head of the pipeline. An EmbeddedChannel runs its queued tasks at each
     * read request and flush; an event loop runs them only once the read in progress is done. So a read request is
     * dropped (nothing to read here), a flush during a read waits for its end, and writes are counted.
     */
    private static final class SocketLikeHead extends ChannelOutboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        boolean reading;
        private boolean flushLater;
        int writes;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void read(ChannelHandlerContext ctx) {}

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            writes++;
            ctx.write(msg, promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            if (reading) {
                flushLater = true;
            } else {
                ctx.flush();
            }
        }

        void readDone() {
            reading = false;
            if (flushLater && ctx.channel().isOpen()) {
                flushLater = false;
                ctx.flush(); // the EmbeddedChannel runs its queued tasks here
            }
        }
    }

    @AfterEach
    void finish() {
        channel.finishAndReleaseAll();
        route.finish();
    }

    @Test
    void aClientResetInTheReadThatFinishedItsHandshakeGetsNoBackendDialAndNoCloseNotify() throws Exception {
        handshaken();

        endReadWithReset();

        assertThat(route.dials).as("dials").isEmpty();
        assertThat(socket.writes).as("writes into the reset socket").isZero();
        assertThat(channel.isOpen()).isFalse();
        assertThat(((ConnectionState.Closed) connection.state()).cause()).isEqualTo(CloseCause.CLIENT_RESET);
        assertThat(route.closed).as("close path runs").containsExactly(connection);
    }

    @Test
    void aClientThatStaysIsDialedForOnceTheReadIsDone() throws Exception {
        handshaken();
        assertThat(route.dials).as("dials during the read").isEmpty();

        endRead();

        assertThat(route.dials).as("dials").hasSize(1);
        assertThat(connection.state()).isInstanceOf(ConnectionState.Connecting.class);
    }

    @Test
    void aClientResetWhileRelayingIsClosedWithoutACloseNotify() throws Exception {
        handshaken();
        endRead();
        route.lastDial().promise().setSuccess();
        assertThat(connection.state()).isInstanceOf(ConnectionState.Relaying.class);
        Bytes.drainOutbound(channel); // the session tickets
        socket.writes = 0;

        channel.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        channel.runPendingTasks();

        assertThat(channel.isOpen()).isFalse();
        assertThat(socket.writes).as("writes into the reset socket").isZero();
        assertThat(((ConnectionState.Closed) connection.state()).cause()).isEqualTo(CloseCause.CLIENT_RESET);
    }

    @Test
    void aClientResetWhileItsBackendIsDialedAbandonsTheAttemptWithoutACloseNotify() throws Exception {
        handshaken();
        endRead();
        Bytes.drainOutbound(channel); // the session tickets
        socket.writes = 0;

        channel.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertThat(route.lastDial().channel().isOpen()).as("the attempt").isFalse();
        assertThat(socket.writes).as("writes into the reset socket").isZero();
        assertThat(((ConnectionState.Closed) connection.state()).cause()).isEqualTo(CloseCause.CLIENT_RESET);
        assertThat(route.backend(0).activeConnections()).as("backend's count").isZero();
    }
}
