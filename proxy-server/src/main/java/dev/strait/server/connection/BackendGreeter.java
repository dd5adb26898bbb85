package dev.strait.server.connection;

import dev.strait.server.lifecycle.BackendGreeting;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Says a {@link BackendGreeting} to a freshly connected backend before anything else goes to it (PostgreSQL's
 * SSLRequest: when Strait answered the client's itself, or before its own TLS handshake with the backend): writes the
 * request, reads the one-byte answer, and either removes itself and completes its future, or closes the backend and
 * fails the future with {@link Rejected} and the reason. An answer longer than one byte, a close, or no answer within
 * the timeout are rejections too. The answer is never relayed; the caller decides what a rejection means and logs it.
 *
 * <p>Sits first in the backend channel's pipeline. Thread model: the backend's event loop (the client's too).
 */
final class BackendGreeter extends ChannelInboundHandlerAdapter {
    /** The backend did not answer a greeting as it must; the message says how. */
    static final class Rejected extends Exception {
        private static final long serialVersionUID = 1L;

        Rejected(String why) {
            super(why, null, false, false); // an expected outcome: no stack trace to fill in
        }
    }

    private final BackendGreeting greeting;
    private final Promise<Void> answered;
    private Future<?> timer;
    private boolean done;

    private BackendGreeter(BackendGreeting greeting, Promise<Void> answered) {
        this.greeting = greeting;
        this.answered = answered;
    }

    /**
     * Greets {@code backend} (connected, auto-read off); the future succeeds once it answered as expected.
     *
     * @param timeout how long the answer may take; 0: no limit
     */
    static Future<Void> greet(Channel backend, BackendGreeting greeting, Duration timeout) {
        BackendGreeter greeter =
                new BackendGreeter(greeting, backend.eventLoop().newPromise());
        backend.pipeline().addFirst("greeting", greeter);
        if (!timeout.isZero()) {
            greeter.timer = backend.eventLoop()
                    .schedule(
                            () -> greeter.reject(backend, "gave no answer within " + timeout.toMillis() + "ms"),
                            timeout.toNanos(),
                            TimeUnit.NANOSECONDS);
        }
        backend.writeAndFlush(Unpooled.wrappedBuffer(greeting.request()));
        backend.read();
        return greeter.answered;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (!(msg instanceof ByteBuf buf) || buf.readableBytes() == 0) {
                return;
            }
            byte answer = buf.getByte(buf.readerIndex());
            if (answer == greeting.accepted() && buf.readableBytes() == 1) {
                finish();
                ctx.pipeline().remove(this);
                answered.trySuccess(null);
            } else {
                reject(
                        ctx.channel(),
                        "answered " + describe(answer) + (buf.readableBytes() > 1 ? " and more" : "") + " to "
                                + greeting.what());
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!done) {
            ctx.read(); // the answer has not come yet: auto-read is off until the relay starts
        } else {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        reject(ctx.channel(), "closed the connection instead of answering " + greeting.what());
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        finish();
    }

    private void reject(Channel backend, String why) {
        if (done) {
            return;
        }
        finish();
        backend.close();
        answered.tryFailure(new Rejected(why));
    }

    private void finish() {
        done = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private static String describe(byte b) {
        return b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("0x%02x", b & 0xff);
    }
}
