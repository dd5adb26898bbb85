package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Handles a failed accept on a route's listener socket, typically EMFILE/ENFILE when descriptors ran out: counts it
 * ({@code strait_accept_errors_total}), warns at most once per 10s per route, and pauses that listener for
 * {@value #PAUSE_MILLIS}ms so the event loop neither spins on a socket it cannot accept from nor logs a stack trace
 * per attempt. Clients meanwhile wait in the kernel's backlog and are accepted once descriptors are free.
 *
 * <p>Sits in every listener's pipeline, ahead of Netty's acceptor; it is loaded and built when the route binds, so
 * nothing needs to be loaded from the jar (a file) while descriptors are short.
 */
@ChannelHandler.Sharable
public final class AcceptErrorHandler extends ChannelInboundHandlerAdapter {
    static final long PAUSE_MILLIS = 1000;

    private final Supplier<RouteRuntime> route;

    public AcceptErrorHandler(Supplier<RouteRuntime> route) {
        this.route = requireNonNull(route, "route");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        RouteRuntime runtime = route.get();
        runtime.metrics().acceptFailed(runtime.name(), cause, PAUSE_MILLIS);
        Channel listener = ctx.channel();
        if (listener.config().isAutoRead()) {
            listener.config().setAutoRead(false);
            ctx.executor()
                    .schedule(
                            () -> {
                                if (listener.isOpen()) {
                                    listener.config().setAutoRead(true);
                                }
                            },
                            PAUSE_MILLIS,
                            TimeUnit.MILLISECONDS);
        }
    }
}
