package dev.strait.server.capture;

import dev.strait.relay.RelayHandler;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * One captured connection: a {@link CaptureTap} first in each side's pipeline, both relay directions kept copying
 * (splice would move bytes no handler sees), and the per-side, per-direction byte caps. When its capture ends (time,
 * bytes, or an operator) the next byte removes the taps and lets the relay splice again.
 *
 * <p>Thread model: both channels share one event loop; so does everything here.
 */
final class ConnectionCapture {
    private final Capture capture;
    private final CaptureWriter writer;
    private final Channel frontend;
    private final Channel backend;
    private final RelayHandler fromClient;
    private final RelayHandler fromBackend;
    private CaptureTap frontendTap;
    private CaptureTap backendTap;
    private boolean finished;

    ConnectionCapture(
            Capture capture,
            CaptureWriter writer,
            Channel frontend,
            Channel backend,
            RelayHandler fromClient,
            RelayHandler fromBackend) {
        this.capture = capture;
        this.writer = writer;
        this.frontend = frontend;
        this.backend = backend;
        this.fromClient = fromClient;
        this.fromBackend = fromBackend;
    }

    /** Puts the taps in place and records both sides' openings; before the relay reads or writes anything. */
    void install() {
        fromClient.holdSplice();
        fromBackend.holdSplice();
        TcpFlow clientSide =
                new TcpFlow((InetSocketAddress) frontend.remoteAddress(), (InetSocketAddress) frontend.localAddress());
        TcpFlow backendSide =
                new TcpFlow((InetSocketAddress) backend.localAddress(), (InetSocketAddress) backend.remoteAddress());
        frontendTap = new CaptureTap(this, clientSide, true);
        backendTap = new CaptureTap(this, backendSide, false);
        frontend.pipeline().addFirst(CaptureTap.NAME, frontendTap);
        backend.pipeline().addFirst(CaptureTap.NAME, backendTap);
        long now = micros();
        offer(new Segment(capture, clientSide, Segment.Kind.OPEN, true, null, now), 0);
        offer(new Segment(capture, backendSide, Segment.Kind.OPEN, true, null, now), 0);
    }

    /**
     * Copies what may still be captured of {@code buf} (this side and direction has taken {@code taken} bytes so far)
     * and returns how many bytes it took; ends the capture of this connection when its capture has ended.
     */
    int copy(TcpFlow flow, boolean fromInitiator, ByteBuf buf, long taken) {
        if (finished) {
            return 0;
        }
        if (!capture.running()) {
            finish();
            return 0;
        }
        long room = capture.request().maxBytesPerConnection() - taken;
        if (room <= 0) {
            return 0; // this side and direction is full; the rest of the connection may still be captured
        }
        int granted = capture.take((int) Math.min(buf.readableBytes(), room));
        if (granted == 0) {
            finish();
            return 0;
        }
        byte[] bytes = new byte[granted];
        buf.getBytes(buf.readerIndex(), bytes);
        offer(new Segment(capture, flow, Segment.Kind.DATA, fromInitiator, bytes, micros()), granted);
        return granted;
    }

    /** What the client sent before the relay started (held while the backend was chosen): recorded as read. */
    void readBeforeRelay(ByteBuf buf) {
        frontendTap.recordRead(buf);
    }

    /** A side closed while captured: its stream ends with FINs in the file. */
    void closed(TcpFlow flow) {
        if (!finished) {
            offer(new Segment(capture, flow, Segment.Kind.CLOSE, true, null, micros()), 0);
        }
    }

    private void offer(Segment segment, int payload) {
        if (!writer.offer(segment) && payload > 0) {
            capture.droppedBytes(payload);
        }
    }

    /** The capture ended: the taps go and both directions may splice again. */
    private void finish() {
        finished = true;
        remove(frontend, frontendTap);
        remove(backend, backendTap);
        fromClient.releaseSplice();
        fromBackend.releaseSplice();
    }

    private static void remove(Channel channel, CaptureTap tap) {
        if (channel.pipeline().context(tap) != null) {
            channel.pipeline().remove(tap);
        }
    }

    private static long micros() {
        return System.currentTimeMillis() * 1000;
    }
}
