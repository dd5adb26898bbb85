package dev.strait.server.lifecycle;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayDeque;

/**
 * A handler that runs before the backend is chosen: it reads the client's first bytes, holds them, decides (a PROXY
 * header, a ClientHello or PostgreSQL preamble peek), and hands over to the next stage or the connector; what it held,
 * then an early FIN, go on first and in order, so the backend gets them before anything read later.
 *
 * <p>Turn: the recipe puts stages between the idle timeout and the connector, and only those a route turns on; a
 * stage that is off is absent, so a plain route's pipeline has none. Nothing runs until the client is admitted: the
 * connector then fires {@link #START} through the pipeline; the first stage takes it, and each stage, when it hands
 * over, removes itself and fires {@link #START} on to the next (the connector connects on it).
 *
 * <p>Reading: the client's auto-read is off; a running stage asks for one read at a time until it hands over. Each
 * message is passed to {@link #read}, which owns it: {@link #hold} it or release it. Bytes that arrive before the
 * stage's turn (a native transport drains a client that sent a FIN) are kept and passed to {@link #read} first when
 * its turn comes. A FIN (or a TLS client's close_notify, from a TLS stage's {@code SslHandler} before this one)
 * before the stage is done calls {@link #finished}, which by default hands over (the end of input is replayed after
 * the held bytes).
 *
 * <p>Deadline: {@link StageHost#staging} records the stage and arms its deadline in the connection's owner, which
 * closes the connection with the stage's cause if it runs out, and cancels it when the state moves on or the
 * connection closes. Held bytes are released if the stage is removed without handing over.
 *
 * <p>Thread model: the client's event loop only.
 */
public abstract class PreRelayStage extends ChannelInboundHandlerAdapter {
    /** The user event that gives the next stage (or the connector) its turn. */
    public static final Object START = new Object() {
        @Override
        public String toString() {
            return "PreRelayStage.START";
        }
    };

    /**
     * The user event a stage that runs before admission ({@link #beforeAdmission()}) fires on hand-over instead of
     * {@link #START}: the connector then asks the admission gate about the client the stage identified, and fires
     * {@link #START} for the stages after it once the client is admitted.
     */
    public static final Object IDENTIFIED = new Object() {
        @Override
        public String toString() {
            return "PreRelayStage.IDENTIFIED";
        }
    };

    /** Makes a stage for one connection; a route keeps one per stage it turns on. */
    @FunctionalInterface
    public interface Factory {
        PreRelayStage create(StageHost host);
    }

    private final String name;
    private final Duration deadline;
    private final CloseCause onDeadline;
    private final StageHost host;
    private final HeldInput held = new HeldInput();
    private final ArrayDeque<Object> beforeTurn = new ArrayDeque<>(1);
    private ChannelHandlerContext ctx;
    private boolean finBeforeTurn;
    private boolean running;
    private boolean handedOver;

    /**
     * @param name the stage's name, in the pipeline and in {@code /connections} ({@code stage:<name>})
     * @param deadline how long it may run before the connection is closed; above 0
     * @param onDeadline the close cause when it runs out
     */
    protected PreRelayStage(String name, Duration deadline, CloseCause onDeadline, StageHost host) {
        this.name = requireNonNull(name, "name");
        this.deadline = requireNonNull(deadline, "deadline");
        this.onDeadline = requireNonNull(onDeadline, "onDeadline");
        this.host = requireNonNull(host, "host");
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("stage " + name + ": deadline must be above 0: " + deadline);
        }
    }

    public final String name() {
        return name;
    }

    /**
     * Whether this stage runs before admission, to learn who the client is (the PROXY header). Only the first stage of
     * a route may; it hands over with {@link #IDENTIFIED}.
     */
    protected boolean beforeAdmission() {
        return false;
    }

    /** Called with each message read while this stage runs; it owns {@code msg}: hold it or release it. */
    protected abstract void read(ChannelHandlerContext ctx, ByteBuf msg);

    /** The client sent a FIN before this stage handed over; by default it hands over (the FIN follows the bytes). */
    protected void finished(ChannelHandlerContext ctx) {
        handOver();
    }

    /** Keeps {@code msg} to pass on, in order, when this stage hands over. */
    protected final void hold(ByteBuf msg) {
        held.hold(msg);
    }

    /** Done: removes this stage, passes on what it held (then a FIN, if one came) and gives the next its turn. */
    protected final void handOver() {
        if (handedOver) {
            return;
        }
        handedOver = true;
        running = false;
        for (Object msg; (msg = beforeTurn.poll()) != null; ) {
            held.hold(msg); // read before the turn and not yet looked at: passed on as they came
        }
        if (finBeforeTurn) {
            held.finish();
        }
        ctx.pipeline().remove(this);
        held.replay(ctx); // a removed handler's context still reaches the handlers after it
        ctx.fireUserEventTriggered(beforeAdmission() ? IDENTIFIED : START);
    }

    /** Ends the connection for {@code cause} (what the stage read shows it must not go on). */
    protected final void fail(CloseCause cause) {
        running = false;
        host.close(cause);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == START) {
            start(ctx);
        } else if (evt instanceof ChannelInputShutdownEvent || isCloseNotify(evt)) {
            if (running) {
                held.finish();
                finished(ctx);
            } else {
                finBeforeTurn = true;
            }
        } else if (evt != ChannelInputShutdownReadComplete.INSTANCE) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * Whether {@code evt} says the client's TLS stream ended with a close_notify: the end of its input, as a FIN is
     * (TLS 1.3 lets the client half-close that way and keep reading), even if its TCP FIN is still to come.
     */
    public static boolean isCloseNotify(Object evt) {
        return evt instanceof SslCloseCompletionEvent closed && closed.isSuccess();
    }

    private void start(ChannelHandlerContext ctx) {
        if (running || handedOver) {
            return;
        }
        running = true;
        host.staging(name, deadline, onDeadline);
        for (Object msg; running && (msg = beforeTurn.poll()) != null; ) {
            dispatch(ctx, msg);
        }
        if (running && finBeforeTurn) {
            finBeforeTurn = false;
            held.finish();
            finished(ctx);
        } else if (running) {
            ctx.read();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (running) {
            dispatch(ctx, msg);
        } else {
            beforeTurn.add(msg);
        }
    }

    private void dispatch(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            read(ctx, buf);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (running && !held.finished()) {
            ctx.read(); // auto-read is off: ask for the next chunk until the stage hands over
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (!handedOver) {
            release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    private void release() {
        held.release();
        for (Object msg; (msg = beforeTurn.poll()) != null; ) {
            ReferenceCountUtil.release(msg);
        }
    }
}
