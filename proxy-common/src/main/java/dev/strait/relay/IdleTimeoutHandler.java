package dev.strait.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Closes a connection that has neither read nor written a byte for the idle timeout.
 *
 * <p>Placed on the frontend channel, it sees both directions: client bytes are reads, backend bytes are writes. Only
 * added when the timeout is above 0 (0 disables it, the default).
 */
public final class IdleTimeoutHandler extends IdleStateHandler {
    private static final Logger log = LogManager.getLogger(IdleTimeoutHandler.class);

    private final Duration timeout;

    public IdleTimeoutHandler(Duration timeout) {
        super(0, 0, timeout.toNanos(), TimeUnit.NANOSECONDS);
        this.timeout = timeout;
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
        log.info("frontend {} idle for {}ms; closing", ctx.channel(), timeout.toMillis());
        ctx.close();
    }
}
