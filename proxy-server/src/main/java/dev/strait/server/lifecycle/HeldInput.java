package dev.strait.server.lifecycle;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelInboundInvoker;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * What a client sent before its relay existed: the messages, in order, and whether its FIN came. A pre-relay handler
 * holds them here and hands them over, or releases them.
 *
 * <p>Not thread-safe: used on the client's event loop only.
 */
public final class HeldInput {
    private ArrayDeque<Object> messages; // made by the first message: most clients send none before their relay
    private boolean finished;

    /** Holds {@code msg}; it is released by {@link #release()} unless handed over first. */
    public void hold(Object msg) {
        if (messages == null) {
            messages = new ArrayDeque<>(2);
        }
        messages.add(msg);
    }

    /** The client's FIN came (after every held message). */
    public void finish() {
        finished = true;
    }

    public boolean finished() {
        return finished;
    }

    /**
     * Fires what is held into {@code next} (a pipeline, or a handler's context to reach the handlers after it): the
     * messages and one read-complete, then the FIN if it came. Nothing stays held.
     */
    public void replay(ChannelInboundInvoker next) {
        if (messages != null && !messages.isEmpty()) {
            for (Object msg; (msg = messages.poll()) != null; ) {
                next.fireChannelRead(msg);
            }
            next.fireChannelReadComplete();
        }
        if (finished) {
            next.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
    }

    /** Shows each held buffer, in order, to {@code observer} without taking it (a capture records what was read). */
    public void peek(Consumer<ByteBuf> observer) {
        if (messages != null) {
            for (Object msg : messages) {
                if (msg instanceof ByteBuf buf) {
                    observer.accept(buf);
                }
            }
        }
    }

    /** Releases every held message (the client is closing, or its bytes are dropped). */
    public void release() {
        if (messages == null) {
            return;
        }
        for (Object msg; (msg = messages.poll()) != null; ) {
            ReferenceCountUtil.release(msg);
        }
    }
}
