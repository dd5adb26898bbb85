package dev.strait.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RelayHandlerTest {
    private HalfClosableEmbeddedChannel frontend;
    private HalfClosableEmbeddedChannel backend;
    private RelayHandler fromClient;
    private RelayHandler fromBackend;

    @BeforeEach
    void pair() {
        frontend = new HalfClosableEmbeddedChannel();
        backend = new HalfClosableEmbeddedChannel();
        fromClient = new RelayHandler(backend, "frontend");
        fromBackend = new RelayHandler(frontend, "backend");
        frontend.pipeline().addLast(fromClient);
        backend.pipeline().addLast(fromBackend);
    }

    @AfterEach
    void finish() {
        frontend.finishAndReleaseAll();
        backend.finishAndReleaseAll();
    }

    @Test
    void relaysTheSameBufferWithoutCopyingIt() {
        ByteBuf sent = Unpooled.directBuffer().writeBytes("hello".getBytes(StandardCharsets.US_ASCII));

        frontend.writeInbound(sent);

        ByteBuf received = backend.readOutbound();
        assertThat(received).isSameAs(sent);
        assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(fromClient.bytesRelayed()).isEqualTo(5);
        received.release();
        assertThat(frontend.finish()).isFalse();
    }

    @Test
    void relaysBothDirections() {
        frontend.writeInbound(ascii("ping"));
        backend.writeInbound(ascii("pong"));

        ByteBuf toBackend = backend.readOutbound();
        ByteBuf toClient = frontend.readOutbound();
        assertThat(toBackend.toString(StandardCharsets.US_ASCII)).isEqualTo("ping");
        assertThat(toClient.toString(StandardCharsets.US_ASCII)).isEqualTo("pong");
        toBackend.release();
        toClient.release();
        assertThat(fromBackend.bytesRelayed()).isEqualTo(4);
    }

    @Test
    void flushesOncePerReadCompleteNotPerRead() {
        frontend.pipeline().fireChannelRead(ascii("a"));
        frontend.pipeline().fireChannelRead(ascii("b"));

        assertThat(backend.<ByteBuf>readOutbound())
                .as("nothing flushed before read-complete")
                .isNull();

        frontend.pipeline().fireChannelReadComplete();
        ByteBuf a = backend.readOutbound();
        ByteBuf b = backend.readOutbound();
        assertThat(a.toString(StandardCharsets.US_ASCII) + b.toString(StandardCharsets.US_ASCII))
                .isEqualTo("ab");
        a.release();
        b.release();
    }

    @Test
    void stopsReadingTheFrontendWhileTheBackendIsUnwritableAndResumesWhenItDrains() {
        backend.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
        frontend.config().setAutoRead(true);

        frontend.pipeline().fireChannelRead(Unpooled.buffer().writeZero(64)); // written to backend, not flushed
        backend.runPendingTasks();

        assertThat(backend.isWritable()).isFalse();
        assertThat(frontend.config().isAutoRead()).isFalse();

        backend.flush();
        backend.runPendingTasks();

        assertThat(backend.isWritable()).isTrue();
        assertThat(frontend.config().isAutoRead()).isTrue();
        ByteBuf drained = backend.readOutbound();
        drained.release();
    }

    @Test
    void stopsReadingTheBackendWhileTheFrontendIsUnwritable() {
        frontend.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
        backend.config().setAutoRead(true);

        backend.pipeline().fireChannelRead(Unpooled.buffer().writeZero(64));
        frontend.runPendingTasks();

        assertThat(backend.config().isAutoRead()).isFalse();
        assertThat(fromClient.pauses()).as("pauses of the backend's reads").isEqualTo(1);
        assertThat(fromClient.resumes()).isZero();

        frontend.flush();
        frontend.runPendingTasks();

        assertThat(backend.config().isAutoRead()).isTrue();
        assertThat(fromClient.resumes()).as("resumes of the backend's reads").isEqualTo(1);
        ByteBuf drained = frontend.readOutbound();
        drained.release();
    }

    @Test
    void releasesABufferThatArrivesAfterThePeerClosed() {
        EmbeddedChannel closedPeer = new EmbeddedChannel();
        closedPeer.close();
        EmbeddedChannel client = new EmbeddedChannel(new RelayHandler(closedPeer, "frontend"));
        ByteBuf late = ascii("late");

        client.pipeline().fireChannelRead(late);

        assertThat(late.refCnt()).isZero();
        client.finishAndReleaseAll();
    }

    @Test
    void propagatesAFinFromTheClientAsShutdownOutputOnTheBackend() {
        frontend.writeInbound(ascii("last words"));
        frontend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

        ByteBuf delivered = backend.readOutbound();
        assertThat(delivered.toString(StandardCharsets.US_ASCII)).isEqualTo("last words");
        delivered.release();
        assertThat(backend.isOutputShutdown()).isTrue();
        assertThat(frontend.isOutputShutdown())
                .as("the other direction keeps flowing")
                .isFalse();
        assertThat(frontend.isOpen()).isTrue();
        assertThat(backend.isOpen()).isTrue();

        backend.writeInbound(ascii("reply after half-close"));
        ByteBuf reply = frontend.readOutbound();
        assertThat(reply.toString(StandardCharsets.US_ASCII)).isEqualTo("reply after half-close");
        reply.release();
    }

    @Test
    void closesThePairOnceBothDirectionsHaveEnded() {
        frontend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(frontend.isOpen()).isTrue();

        backend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

        assertThat(backend.isOutputShutdown())
                .as("the first FIN half-closed the backend")
                .isTrue();
        assertThat(frontend.isOpen())
                .as("the second FIN closes the frontend outright (a close sends the FIN)")
                .isFalse();
        assertThat(backend.isOpen()).isFalse();
    }

    @Test
    void closesTheFrontendWhenTheBackendCloses() {
        backend.close();

        assertThat(frontend.isOpen()).isFalse();
    }

    @Test
    void closesBothSidesWhenOneFails() {
        backend.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertThat(backend.isOpen()).isFalse();
        assertThat(frontend.isOpen()).isFalse();
    }

    @Test
    void closesAFailedSidePastItsHandlersCloseWhichCouldOnlyWriteIntoTheDeadSocket() {
        int[] closes = {0};
        backend.pipeline()
                .addFirst(
                        new ChannelOutboundHandlerAdapter() { // as an SslHandler would, with a close_notify
                            @Override
                            public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
                                closes[0]++;
                                ctx.close(promise);
                            }
                        });

        backend.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertThat(backend.isOpen()).isFalse();
        assertThat(closes[0]).as("the handler's close").isZero();
        assertThat(frontend.isOpen()).as("the peer, closed as for any end").isFalse();
    }

    @Test
    void deliversWhatWasAlreadyRelayedBeforeClosingThePeer() {
        frontend.writeInbound(ascii("in flight"));
        frontend.close();

        ByteBuf delivered = backend.readOutbound();
        assertThat(delivered.toString(StandardCharsets.US_ASCII)).isEqualTo("in flight");
        delivered.release();
        assertThat(backend.isOpen()).isFalse();
    }

    @Test
    void dropsReadRequestsOnceTheInputHasEnded() {
        int[] reads = {0};
        frontend.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void read(ChannelHandlerContext ctx) {
                reads[0]++;
                ctx.read();
            }
        });

        frontend.read();
        assertThat(reads[0]).as("passed on while the input is open").isEqualTo(1);

        frontend.shutdownInput();
        frontend.read();
        frontend.config().setAutoRead(false);
        frontend.config().setAutoRead(true);
        assertThat(reads[0])
                .as("dropped after the FIN: nothing is left to read, and a socket at its end of stream stays readable")
                .isEqualTo(1);
    }

    @Test
    void keepsCopyingWhereSpliceIsNotAvailable() {
        RelayHandler splicing =
                new RelayHandler(backend, "frontend", java.time.Duration.ZERO, 1, noPipe -> {}, RelayListener.NONE);
        frontend.pipeline().replace(fromClient, "relay", splicing);

        frontend.writeInbound(ascii("first"));
        frontend.writeInbound(ascii("second"));

        assertThat(splicing.splicing()).as("an embedded channel is not epoll").isFalse();
        assertThat(splicing.bytesRelayed()).isEqualTo(11);
        ByteBuf first = backend.readOutbound();
        ByteBuf second = backend.readOutbound();
        assertThat(first.toString(StandardCharsets.US_ASCII) + second.toString(StandardCharsets.US_ASCII))
                .isEqualTo("firstsecond");
        first.release();
        second.release();
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }
}
