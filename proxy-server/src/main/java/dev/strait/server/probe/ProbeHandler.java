package dev.strait.server.probe;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HealthCheck;
import dev.strait.proxyprotocol.ProxyHeaderEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.Promise;
import java.util.Optional;

/**
 * Runs one probe's dialog on its channel: sends the request once connected, collects up to {@link
 * HealthCheck#MAX_REPLY_BYTES} of the reply, and completes the promise with the dialog's verdict.
 *
 * <p>Closing: after the verdict it sends the dialog's farewell, if any, then a FIN, and reads (discarding) until the
 * backend closes its side, so the backend sees an orderly goodbye and holds the TIME_WAIT, and no unread byte turns
 * the close into a reset. {@code reset} closes at once instead (SO_LINGER 0 is set on the channel). The probe's
 * deadline closes the channel in any case.
 *
 * <p>Thread model: one instance per probe, on the probe channel's event loop.
 */
final class ProbeHandler extends ChannelInboundHandlerAdapter {
    private final ProbeDialog dialog;
    private final Promise<Verdict> result;
    private final boolean reset;
    private ByteBuf reply;
    private ChannelFuture requestSent;
    private boolean judged;
    private final boolean proxyHeader;

    ProbeHandler(ProbeDialog dialog, Promise<Verdict> result, boolean reset) {
        this(dialog, result, reset, false);
    }

    /** @param proxyHeader whether a v2 PROXY {@code LOCAL} header goes first, before the dialog's request */
    ProbeHandler(ProbeDialog dialog, Promise<Verdict> result, boolean reset, boolean proxyHeader) {
        this.dialog = requireNonNull(dialog, "dialog");
        this.result = requireNonNull(result, "result");
        this.reset = reset;
        this.proxyHeader = proxyHeader;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseReply();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // Allocated only once connected: a probe whose connect fails holds no buffer. A small heap buffer outside the
        // pools: a probe still open when its event loop stops at shutdown (its close then never runs) leaves garbage
        // for the collector, not pooled memory behind.
        reply = Unpooled.buffer(256, HealthCheck.MAX_REPLY_BYTES);
        ByteBuf request = dialog.request(ctx.alloc());
        if (proxyHeader) {
            ChannelFuture headerSent = ctx.writeAndFlush(ProxyHeaderEncoder.v2Local(ctx.alloc()));
            requestSent = request == null ? headerSent : ctx.writeAndFlush(request);
        } else {
            requestSent = request == null ? ctx.newSucceededFuture() : ctx.writeAndFlush(request);
        }
        requestSent.addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        judge(ctx, false);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (judged) {
                return; // draining until the backend closes
            }
            reply.writeBytes(in, Math.min(in.readableBytes(), reply.maxWritableBytes()));
        } finally {
            in.release();
        }
        judge(ctx, false);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!judged) {
            judge(ctx, true);
        }
        releaseReply();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!judged) {
            judged = true;
            result.trySuccess(Verdict.down(Probe.describe(cause)));
        }
        ctx.close();
    }

    /** Asks the dialog for a verdict; the reply has ended when the backend closed or the reply filled the limit. */
    private void judge(ChannelHandlerContext ctx, boolean backendClosed) {
        boolean ended = backendClosed || reply.maxWritableBytes() == 0;
        Optional<Verdict> verdict = dialog.judge(reply, ended);
        if (verdict.isEmpty()) {
            if (!ended) {
                return;
            }
            verdict = Optional.of(Verdict.down("reply ended without a verdict"));
        }
        judged = true;
        result.trySuccess(verdict.get());
        ByteBuf farewell = reset || backendClosed ? null : dialog.farewell(reply, ctx.alloc());
        releaseReply(); // the rest is drained unread
        if (reset || backendClosed) {
            ctx.close();
            return;
        }
        // A FIN discards writes still queued, so it waits for the last one (writes complete in order).
        ChannelFuture lastWrite = farewell == null ? requestSent : ctx.writeAndFlush(farewell);
        lastWrite.addListener(f -> shutdownOutput(ctx));
    }

    private void releaseReply() {
        if (reply != null) {
            reply.release();
            reply = null;
        }
    }

    /** Sends the FIN; the backend's own close then ends the channel, or the probe's deadline does. */
    private static void shutdownOutput(ChannelHandlerContext ctx) {
        if (ctx.channel() instanceof DuplexChannel duplex && duplex.isActive()) {
            duplex.shutdownOutput();
        } else {
            ctx.close();
        }
    }
}
