package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;
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
 * have ended. Over TLS, a peer's close_notify ends its input as a FIN does, and the FIN passed on is preceded by a
 * close_notify when the other channel has an {@code SslHandler}. Teardown: when either side closes or fails, the other is closed after flushing what was already
 * written to it (a FIN, never a reset, so nothing the peer already sent is lost); with a fin timeout, a peer that
 * has not taken that data when it runs out is closed anyway. A side whose socket failed (a reset) is closed past
 * every handler's close: nothing more can be written to it, a TLS close_notify included.
 *
 * <p>Splice (epoll only, when {@code spliceAfter} is above 0): once one read brings at least {@code spliceAfter}
 * bytes, the rest of this direction moves socket to pipe to socket with splice(2) and never enters user space (see
 * {@link SpliceReader}, which must be installed on the channel before its first read). The FIN, a reset and the
 * backpressure work as when copying: they reach this handler in order after every spliced byte. When no pipe can be
 * had (descriptors ran out), the direction keeps copying and {@code pipeUnavailable} is told.
 *
 * <p>Ends: a {@link RelayListener} is told how this side ended (FIN, close, reset, error, fin timeout) before the
 * relay acts on it, so the connection's owner can record why the pair closed.
 *
 * <p>Thread model: both channels are registered on the same event loop, so the fields need no synchronisation;
 * {@link #bytesRelayed()}, {@link #bytesSpliced()}, {@link #pauses()} and {@link #resumes()} may be read from any
 * thread.
 */
public final class RelayHandler extends ChannelDuplexHandler {
    private static final Logger log = LogManager.getLogger(RelayHandler.class);

    private final Channel peer;
    private final String side;
    private final Duration finTimeout;
    private final Consumer<IOException> pipeUnavailable;
    private final RelayListener listener;
    private int spliceAfter;
    private int heldSpliceAfter;
    private boolean inputEnded;
    /** This side's writability as last seen by {@link #channelWritabilityChanged}. */
    private boolean lastWritable = true;

    private volatile long bytesCopied;
    /** Times this side's full write buffer stopped, and let resume, the peer's reads (written on the loop only). */
    private volatile long pauses;

    private volatile long resumes;
    /** Set once this direction splices. */
    private volatile SpliceReader splicer;

    /** A plain relay: no fin timeout, no splice, nobody told how it ended. */
    public RelayHandler(Channel peer, String side) {
        this(peer, side, Duration.ZERO, 0, noPipe -> {}, RelayListener.NONE);
    }

    /**
     * @param peer the channel that receives what this handler's channel reads
     * @param side what this handler's channel is, for logs and {@code listener}: {@code frontend} or {@code backend}
     * @param finTimeout how long the pair may stay half-closed after this side's FIN before both are closed; 0
     *     disables it
     * @param spliceAfter splice this direction once a single read brings at least this many bytes (epoll on both
     *     sides and a {@link SpliceReader} on this channel required); 0 never splices
     * @param pipeUnavailable told when this direction wanted to splice but could get no pipe, and keeps copying
     * @param listener told how this side ended (FIN, close, reset, error, fin timeout) before the relay acts on it
     */
    public RelayHandler(
            Channel peer,
            String side,
            Duration finTimeout,
            int spliceAfter,
            Consumer<IOException> pipeUnavailable,
            RelayListener listener) {
        this.listener = requireNonNull(listener, "listener");
        this.peer = requireNonNull(peer, "peer");
        this.pipeUnavailable = requireNonNull(pipeUnavailable, "pipeUnavailable");
        this.side = requireNonNull(side, "side");
        this.finTimeout = requireNonNull(finTimeout, "finTimeout");
        if (spliceAfter < 0) {
            throw new IllegalArgumentException("spliceAfter must not be negative: " + spliceAfter);
        }
        this.spliceAfter = spliceAfter;
    }

    /** Bytes read on this handler's channel and passed to the peer, copied or spliced. */
    public long bytesRelayed() {
        return bytesCopied + bytesSpliced();
    }

    /** Bytes this direction moved by splice(2), which no handler sees. */
    public long bytesSpliced() {
        SpliceReader reader = splicer;
        return reader == null ? 0 : reader.spliced();
    }

    /**
     * Keeps this direction copying, so that every byte passes the pipeline (a capture must see them), until
     * {@link #releaseSplice}; no effect once it splices.
     */
    public void holdSplice() {
        if (splicer == null && spliceAfter > 0) {
            heldSpliceAfter = spliceAfter;
            spliceAfter = 0;
        }
    }

    /** Lets this direction switch to splice(2) again after {@link #holdSplice}. */
    public void releaseSplice() {
        if (heldSpliceAfter > 0) {
            spliceAfter = heldSpliceAfter;
            heldSpliceAfter = 0;
        }
    }

    /** Times this side turned unwritable and stopped the peer's reads (backpressure); any thread may read it. */
    public long pauses() {
        return pauses;
    }

    /** Times this side turned writable again and resumed the peer's reads; any thread may read it. */
    public long resumes() {
        return resumes;
    }

    /** Whether this direction has switched to splice(2). */
    public boolean splicing() {
        return splicer != null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (spliceAfter > 0 && !ctx.channel().isActive()) {
            SpliceReader.install(ctx.channel()); // a backend channel, added before it connects and reads
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && peer.isActive() && !Channels.isOutputShutdown(peer)) {
            int bytes = buf.readableBytes();
            bytesCopied += bytes; // single writer: the event loop
            peer.write(buf, peer.voidPromise());
            if (!peer.isWritable()) {
                // Stop this read loop now: an SslHandler on the peer queues what it is given and reports the peer
                // unwritable only later (Netty fires that event from a task), by which time a read loop would have
                // read up to 16 buffers more. The peer's relay turns reading back on when the peer drains.
                ctx.channel().config().setAutoRead(false);
            }
            if (spliceAfter > 0 && bytes >= spliceAfter) {
                startSplicing(ctx.channel());
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Hands the rest of this direction to splice(2), in order after what was already written. Tried once. */
    private void startSplicing(Channel self) {
        spliceAfter = 0;
        SpliceReader reader = SpliceReader.of(self);
        if (reader == null || !(peer instanceof AbstractEpollStreamChannel) || Channels.isInputShutdown(self)) {
            return; // not both epoll, or the input already ended: keep copying
        }
        try {
            reader.start(peer);
            splicer = reader;
        } catch (IOException noPipe) {
            pipeUnavailable.accept(noPipe); // descriptors ran out: this direction keeps copying
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
    }

    /**
     * Reading was asked for (by the peer's relay once the peer has room again). After this side's FIN there is
     * nothing left to read, and passing the request on would only re-arm a socket that stays readable at its end.
     */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (!Channels.isInputShutdown(ctx.channel())) {
            ctx.read();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // This side's outbound buffer is what the peer's reads fill: read the peer only while it drains.
        boolean writable = ctx.channel().isWritable();
        peer.config().setAutoRead(writable);
        // Counted per change of state seen here: an SslHandler's queue fires its events from a task, so two events
        // can both find the channel in the state it is in by then.
        if (writable != lastWritable) {
            lastWritable = writable;
            if (writable) {
                resumes++; // volatile, but only this loop writes it
            } else {
                pauses++;
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent
                || evt instanceof SslCloseCompletionEvent closed && closed.isSuccess()) {
            if (inputEnded) {
                return; // a close_notify, then its FIN: one end of input
            }
            inputEnded = true;
            listener.ended(side, RelayListener.End.FIN);
            propagateInputShutdown(ctx.channel()); // every byte before the FIN was read or spliced already
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
            SslHandler tls = peer.pipeline().get(SslHandler.class);
            if (tls != null) {
                // TLS: close_notify first, so the peer knows the stream ended and was not cut; then the FIN.
                tls.closeOutbound().addListener((ChannelFuture notified) -> shutdownPeer(self, duplexPeer));
                return;
            }
            shutdownPeer(self, duplexPeer);
        });
    }

    private void shutdownPeer(Channel self, DuplexChannel duplexPeer) {
        Channels.shutdownOutput(duplexPeer).addListener((ChannelFuture shut) -> {
            if (!shut.isSuccess() || Channels.isOutputShutdown(self)) {
                // Both directions have ended (or the FIN could not be sent): the pair is done.
                self.close();
                peer.close();
                return;
            }
            // The peer's own FIN will end the pair: let it close the peer at once rather than half-close its
            // input first, which costs a shutdown(SHUT_RD) that fails on a socket the peer has already closed
            // (and on epoll a NotYetConnectedException). Its relay then sees it close, and closes this side.
            peer.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
        });
    }

    private void limitHalfClosedTime(Channel self) {
        closeAfterFinTimeout(self, "half-closed");
    }

    /**
     * Closes {@code target} (and so the pair) if it is still open when the fin timeout runs out; 0 disables.
     *
     * @param state how the log line describes the pair; null: still flushing after this side closed (the text is only
     *     built if it is logged)
     */
    private void closeAfterFinTimeout(Channel target, String state) {
        if (finTimeout.isZero() || !target.isOpen()) {
            return;
        }
        ScheduledFuture<?> cut = target.eventLoop()
                .schedule(
                        () -> {
                            if (target.isOpen()) {
                                listener.ended(side, RelayListener.End.FIN_TIMEOUT);
                                log.info(
                                        "{} {} for {}ms; closing the pair",
                                        target,
                                        state != null ? state : "still flushing after the " + side + " closed",
                                        finTimeout.toMillis());
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
        listener.ended(side, RelayListener.End.CLOSED);
        Channels.closeOnFlush(peer);
        // A peer that never takes what was relayed to it would hold the connection open forever: bound it.
        closeAfterFinTimeout(peer, null);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof SSLException || cause.getCause() instanceof SSLException) {
            listener.ended(side, RelayListener.End.TLS_ERROR);
            log.debug(
                    "{} {} failed in TLS: {}; closing {} {}", side, ctx.channel(), cause.toString(), peerSide(), peer);
        } else if (cause instanceof IOException || cause.getCause() instanceof IOException) {
            listener.ended(side, RelayListener.End.RESET);
            log.debug("{} {} failed: {}; closing {} {}", side, ctx.channel(), cause.toString(), peerSide(), peer);
            Channels.closeFailed(ctx.channel());
            return;
        } else {
            listener.ended(side, RelayListener.End.ERROR);
            log.warn("{} {} failed; closing {} {}", side, ctx.channel(), peerSide(), peer, cause);
        }
        ctx.close();
    }

    private String peerSide() {
        return "frontend".equals(side) ? "backend" : "frontend";
    }
}
