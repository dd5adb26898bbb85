package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Relays every buffer read on its channel to the peer channel, untouched, and ends the pair cleanly.
 *
 * <p>One instance sits at the end of each side's pipeline, each pointing at the other side. Flow: a read is written
 * to the peer without a flush; read-complete flushes. Backpressure: when this channel turns unwritable the peer stops
 * reading ({@code autoRead} off), and reading resumes when this channel is writable again. Half-close: when this
 * channel's input ends (a FIN, with {@code ALLOW_HALF_CLOSURE} on), the peer's output is shut down once everything
 * already written to it is flushed, while the other direction keeps flowing; the pair is closed when both directions
 * have ended. Teardown: when either side closes or fails, the other is closed after flushing what was already
 * written to it (a FIN, never a reset, so nothing the peer already sent is lost); with a fin timeout, a peer that
 * has not taken that data when it runs out is closed anyway.
 *
 * <p>Splice (epoll only, when {@code spliceAfter} is above 0): once one read brings at least {@code spliceAfter}
 * bytes, the rest of this direction moves socket to pipe to socket with splice(2) and never enters user space. The
 * bytes are counted by the channel's {@link ReadCounter}, which must be installed before its first read. Netty
 * reports the FIN of a spliced channel before the socket is drained, so in splice mode the rest is read by hand
 * and the FIN passed on at the end of the stream.
 *
 * <p>Thread model: both channels are registered on the same event loop, so the fields need no synchronisation;
 * {@link #bytesRelayed()} and {@link #bytesSpliced()} may be read from any thread.
 */
public final class RelayHandler extends ChannelDuplexHandler {
    private static final Logger log = LogManager.getLogger(RelayHandler.class);
    /** Largest read when draining a spliced socket after its FIN. */
    private static final int DRAIN_CHUNK = 64 * 1024;

    private final Channel peer;
    private final String side;
    private final Duration finTimeout;
    private int spliceAfter;
    private volatile long bytesRelayed;
    /** Set when this direction starts splicing; {@link #spliceBase} is written before it. */
    private volatile ReadCounter spliceCounter;

    private volatile long bytesDrained;

    private long spliceBase;
    private boolean draining;

    /**
     * @param peer the channel that receives what this handler's channel reads
     * @param side what this handler's channel is, for logs: {@code frontend} or {@code backend}
     */
    public RelayHandler(Channel peer, String side) {
        this(peer, side, Duration.ZERO);
    }

    /**
     * @param peer the channel that receives what this handler's channel reads
     * @param side what this handler's channel is, for logs: {@code frontend} or {@code backend}
     * @param finTimeout how long the pair may stay half-closed after this side's FIN before both are closed; 0
     *     disables it
     */
    public RelayHandler(Channel peer, String side, Duration finTimeout) {
        this(peer, side, finTimeout, 0);
    }

    /**
     * @param peer the channel that receives what this handler's channel reads
     * @param side what this handler's channel is, for logs: {@code frontend} or {@code backend}
     * @param finTimeout how long the pair may stay half-closed after this side's FIN before both are closed; 0
     *     disables it
     * @param spliceAfter splice this direction once a single read brings at least this many bytes (epoll on both
     *     sides and a {@link ReadCounter} on this channel required); 0 never splices
     */
    public RelayHandler(Channel peer, String side, Duration finTimeout, int spliceAfter) {
        this.peer = requireNonNull(peer, "peer");
        this.side = requireNonNull(side, "side");
        this.finTimeout = requireNonNull(finTimeout, "finTimeout");
        if (spliceAfter < 0) {
            throw new IllegalArgumentException("spliceAfter must not be negative: " + spliceAfter);
        }
        this.spliceAfter = spliceAfter;
    }

    /** Bytes read on this handler's channel and passed to the peer, copied or spliced. */
    public long bytesRelayed() {
        return bytesRelayed + bytesSpliced();
    }

    /**
     * Bytes this direction moved outside the pipeline, which no handler sees: by splice(2), and the tail of a spliced
     * stream read straight from the socket after its FIN.
     */
    public long bytesSpliced() {
        ReadCounter counter = spliceCounter;
        return counter == null ? 0 : counter.total() - spliceBase + bytesDrained;
    }

    /** Whether this direction has switched to splice(2). */
    public boolean splicing() {
        return spliceCounter != null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (spliceAfter > 0 && !ctx.channel().isActive()) {
            ReadCounter.install(ctx.channel()); // a backend channel, added before it connects and reads
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && peer.isActive() && !Channels.isOutputShutdown(peer)) {
            int bytes = buf.readableBytes();
            bytesRelayed += bytes;
            peer.write(buf, peer.voidPromise());
            if (spliceAfter > 0 && bytes >= spliceAfter) {
                startSplicing(ctx.channel());
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Hands the rest of this direction to splice(2): Netty splices from this socket into a pipe owned by the peer and
     * from there into the peer's socket, in order after what was already written. Tried once per direction.
     */
    @SuppressWarnings("deprecation") // spliceTo is deprecated with no replacement; pinned Netty 4.2.18 is checked
    private void startSplicing(Channel self) {
        spliceAfter = 0;
        ReadCounter counter = ReadCounter.of(self);
        if (counter == null
                || !(self instanceof AbstractEpollStreamChannel from)
                || !(peer instanceof AbstractEpollStreamChannel to)
                || from.isInputShutdown()) {
            return; // not both epoll, no counter, or the input already ended: keep copying
        }
        spliceBase = counter.total();
        spliceCounter = counter;
        from.spliceTo(to, Integer.MAX_VALUE).addListener((ChannelFuture spliced) -> {
            if (!spliced.isSuccess() && self.isOpen()) {
                // Either socket failed mid-splice (a reset, a broken pipe): end the pair as on any relay error.
                log.debug("{} {} splice to {} failed: {}", side, self, peer, String.valueOf(spliced.cause()));
                self.close();
            }
        });
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
    }

    /**
     * Reading was asked for: by the peer's relay once the peer has room again, or by Netty when a splice has emptied
     * the pipe. After this side's FIN there is nothing to read through Netty any more: a spliced stream goes on
     * draining by hand, and otherwise the request is dropped. Passing it on would re-arm a socket that stays readable
     * at its end of stream; a spliced one would then spin, because Netty's splice cannot tell the end of the stream
     * from an empty socket. (Re-arming itself is safe: {@code KeepRegisteredEpoll} keeps the socket in epoll.)
     */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (draining) {
            drainAfterFin(ctx.channel());
        } else if (!Channels.isInputShutdown(ctx.channel())) {
            ctx.read();
        }
    }

    /**
     * Splice mode, after this side's FIN. Netty reports the FIN of a spliced channel after one bounded splice pass,
     * while the socket may still hold megabytes, and its splice cannot tell the end of the stream from "nothing yet".
     * So the rest is read from the socket by hand, in order after the splices already queued on the peer, as long as
     * the peer has room (the peer's relay asks for more through {@link #read} when it has room again); the FIN is
     * passed on at the end of the stream.
     */
    private void drainAfterFin(Channel self) {
        if (!self.isOpen()) {
            return; // closed meanwhile: its descriptor number may already belong to another socket
        }
        draining = true;
        self.config().setAutoRead(false); // Netty's splice passes stop; read requests come here from now on
        FileDescriptor socket = ((UnixChannel) self).fd();
        while (peer.isActive() && peer.isWritable() && !Channels.isOutputShutdown(peer)) {
            ByteBuf buf = self.alloc().directBuffer(DRAIN_CHUNK);
            int read;
            try {
                ByteBuffer target = buf.internalNioBuffer(buf.writerIndex(), buf.writableBytes());
                read = socket.read(target, target.position(), target.limit());
            } catch (IOException e) {
                buf.release();
                log.debug("{} {} failed after its FIN: {}; closing {} {}", side, self, e.toString(), peerSide(), peer);
                self.close();
                return;
            }
            if (read <= 0) { // -1: the end of the stream; 0 ("try again") cannot follow a FIN
                buf.release();
                draining = false;
                peer.flush();
                propagateInputShutdown(self);
                return;
            }
            buf.writerIndex(buf.writerIndex() + read);
            bytesDrained += read; // single writer: this event loop
            peer.write(buf, peer.voidPromise());
        }
        peer.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // This side's outbound buffer is what the peer's reads fill: read the peer only while it drains.
        peer.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (spliceCounter == null) {
                propagateInputShutdown(ctx.channel()); // copying: every byte before the FIN was read already
            } else {
                drainAfterFin(ctx.channel()); // splicing: bytes may still sit in the socket
            }
            limitHalfClosedTime(ctx.channel());
        } else if (evt != ChannelInputShutdownReadComplete.INSTANCE) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    private void propagateInputShutdown(Channel self) {
        if (!(peer instanceof DuplexChannel duplexPeer)) {
            Channels.closeOnFlush(peer);
            return;
        }
        // shutdownOutput fails writes still queued, so it waits for everything written so far to be flushed.
        peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture flushed) -> {
            if (!flushed.isSuccess()) {
                return; // the peer failed; its own handler tears the pair down
            }
            if (Channels.isOutputShutdown(self)) {
                // The other direction ended first, so both have now: a close sends the peer the same FIN, and skips
                // the half-close (for which Netty builds an exception with a stack trace, every time).
                self.close();
                peer.close();
                return;
            }
            duplexPeer.shutdownOutput().addListener((ChannelFuture shut) -> {
                if (!shut.isSuccess() || Channels.isOutputShutdown(self)) {
                    // Both directions have ended (or the FIN could not be sent): the pair is done.
                    self.close();
                    peer.close();
                }
            });
        });
    }

    private void limitHalfClosedTime(Channel self) {
        closeAfterFinTimeout(self, "half-closed");
    }

    /** Closes {@code target} (and so the pair) if it is still open when the fin timeout runs out; 0 disables. */
    private void closeAfterFinTimeout(Channel target, String state) {
        if (finTimeout.isZero() || !target.isOpen()) {
            return;
        }
        ScheduledFuture<?> cut = target.eventLoop()
                .schedule(
                        () -> {
                            if (target.isOpen()) {
                                log.info("{} {} for {}ms; closing the pair", target, state, finTimeout.toMillis());
                                target.close();
                                peer.close();
                            }
                        },
                        finTimeout.toNanos(),
                        TimeUnit.NANOSECONDS);
        target.closeFuture().addListener(f -> cut.cancel(false));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Channels.closeOnFlush(peer);
        // A peer that never takes what was relayed to it would hold the connection open forever: bound it.
        closeAfterFinTimeout(peer, "still flushing after the " + side + " closed");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException || cause.getCause() instanceof IOException) {
            log.debug("{} {} failed: {}; closing {} {}", side, ctx.channel(), cause.toString(), peerSide(), peer);
        } else {
            log.warn("{} {} failed; closing {} {}", side, ctx.channel(), peerSide(), peer, cause);
        }
        ctx.close();
    }

    private String peerSide() {
        return "frontend".equals(side) ? "backend" : "frontend";
    }
}
