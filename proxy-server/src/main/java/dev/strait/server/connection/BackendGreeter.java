package dev.strait.server.connection;

import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Says a {@link BackendGreeting} to a freshly connected backend before the relay starts (PostgreSQL's SSLRequest, when
 * Strait answered the client's itself): writes the request, reads the one-byte answer, and either removes itself and
 * lets the relay start, or closes the client with {@code backend_rejected} and a logged reason. An answer longer than
 * one byte, or none within {@code timeouts.connect}, ends the connection too. The answer is never relayed.
 *
 * <p>Sits first in the backend channel's pipeline, ahead of the backend's relay handler; a backend that closes meanwhile
 * reaches that handler, which closes the client. Thread model: the client's event loop (the backend shares it).
 */
final class BackendGreeter extends ChannelInboundHandlerAdapter {
    private static final Logger log = LogManager.getLogger(BackendGreeter.class);

    private final BackendGreeting greeting;
    private final ProxiedConnection connection;
    private final Runnable accepted;
    private Future<?> timer;
    private boolean done;

    private BackendGreeter(BackendGreeting greeting, ProxiedConnection connection, Runnable accepted) {
        this.greeting = greeting;
        this.connection = connection;
        this.accepted = accepted;
    }

    /** Greets {@code backend}; runs {@code accepted} once it answered as expected. */
    static void greet(
            Channel backend,
            BackendGreeting greeting,
            Duration timeout,
            ProxiedConnection connection,
            Runnable accepted) {
        BackendGreeter greeter = new BackendGreeter(greeting, connection, accepted);
        backend.pipeline().addFirst("greeting", greeter);
        if (!timeout.isZero()) {
            greeter.timer = backend.eventLoop()
                    .schedule(
                            () -> greeter.reject(backend, "no answer within " + timeout.toMillis() + "ms"),
                            timeout.toNanos(),
                            TimeUnit.NANOSECONDS);
        }
        backend.writeAndFlush(Unpooled.wrappedBuffer(greeting.request()));
        backend.read();
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
                finish(ctx.channel());
                ctx.pipeline().remove(this);
                accepted.run();
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
    public void handlerRemoved(ChannelHandlerContext ctx) {
        finish(ctx.channel());
    }

    private void reject(Channel backend, String why) {
        if (done) {
            return;
        }
        finish(backend);
        log.warn(
                "frontend {} -> backend {} (route {}): the backend {}; closing client",
                connection.frontend().remoteAddress(),
                backend.remoteAddress(),
                connection.route(),
                why);
        backend.close();
        connection.close(CloseCause.BACKEND_REJECTED);
    }

    private void finish(Channel backend) {
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
