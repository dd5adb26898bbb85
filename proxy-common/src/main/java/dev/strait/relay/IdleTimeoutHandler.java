package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Closes a connection that has neither read nor written a byte for the idle timeout.
 *
 * <p>Placed on the frontend channel, it sees both directions: client bytes are reads, backend bytes are writes. Bytes
 * moved by splice(2) bypass the pipeline, so it also watches a count of them: a connection whose spliced count moved
 * since the last check is not idle. A spliced connection that falls silent is therefore closed between one and two
 * timeouts after its last byte; a copied one exactly one timeout after. Only added when the timeout is above 0 (0
 * disables it, the default).
 */
public final class IdleTimeoutHandler extends IdleStateHandler {
    private static final Logger log = LogManager.getLogger(IdleTimeoutHandler.class);

    private final Duration timeout;
    private final LongSupplier splicedBytes;
    private final Runnable closing;
    private long splicedAtLastCheck;

    /** For a connection that never splices. */
    public IdleTimeoutHandler(Duration timeout) {
        this(timeout, () -> 0);
    }

    /**
     * @param timeout how long the connection may stay silent
     * @param splicedBytes bytes the connection has moved by splice(2) so far, in either direction
     */
    public IdleTimeoutHandler(Duration timeout, LongSupplier splicedBytes) {
        this(timeout, splicedBytes, () -> {});
    }

    /**
     * @param timeout how long the connection may stay silent
     * @param splicedBytes bytes the connection has moved by splice(2) so far, in either direction
     * @param closing told just before an idle connection is closed, on its event loop
     */
    public IdleTimeoutHandler(Duration timeout, LongSupplier splicedBytes, Runnable closing) {
        super(0, 0, timeout.toNanos(), TimeUnit.NANOSECONDS);
        this.timeout = timeout;
        this.splicedBytes = requireNonNull(splicedBytes, "splicedBytes");
        this.closing = requireNonNull(closing, "closing");
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
        long spliced = splicedBytes.getAsLong();
        if (spliced != splicedAtLastCheck) {
            splicedAtLastCheck = spliced; // busy, out of the pipeline's sight: check again after another timeout
            return;
        }
        log.info("frontend {} idle for {}ms; closing", ctx.channel(), timeout.toMillis());
        closing.run();
        ctx.close();
    }
}
