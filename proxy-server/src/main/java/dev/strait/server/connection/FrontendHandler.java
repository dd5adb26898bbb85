package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.Route;
import dev.strait.relay.RelayHandler;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Connects a newly accepted client to a backend, then replaces itself with a {@link RelayHandler}.
 *
 * <p>The route's balancer picks a backend; if the connect fails, another backend is tried, up to {@code retries}
 * more, each within {@code timeouts.connect} — safe because not one client byte has been forwarded yet. When no
 * backend is available (all down, all tried, or all at their cap) the client is held for up to {@code timeouts.queue},
 * trying again every {@value #HOLD_TICK_MILLIS}ms, then closed; every failure is logged once with both addresses and
 * every cause.
 *
 * <p>The client channel starts with auto-read off, so client bytes are normally read only once a backend has accepted.
 * Native transports still read a client that half-closes early (epoll and io_uring drain the socket on a FIN), so
 * whatever arrives meanwhile is held, in order, and forwarded first; an early FIN is replayed to the relay.
 *
 * <p>Thread model: the backend channel is registered on the client's event loop, so this handler, both relay handlers
 * and every listener below run on one thread and need no {@code volatile}.
 */
public final class FrontendHandler extends ChannelInboundHandlerAdapter {
    static final long HOLD_TICK_MILLIS = 100;
    static final long UNSERVED_DRAIN_MILLIS = 100;
    private static final Logger log = LogManager.getLogger(FrontendHandler.class);

    private final RouteRuntime route;
    private final ProxiedConnection connection;
    private final StringJoiner failures = new StringJoiner("; ");
    private final ArrayDeque<Object> early = new ArrayDeque<>(2);
    private final Set<Backend> tried = new HashSet<>(4);
    private boolean clientFinished;
    private boolean unserved;
    private boolean admitted;
    private boolean started;
    private ChannelHandlerContext ctx;
    private int attempts;
    private long holdUntilNanos;
    private Channel backend;
    private ScheduledFuture<?> holding;

    public FrontendHandler(RouteRuntime route, ProxiedConnection connection) {
        this.route = requireNonNull(route, "route");
        this.connection = requireNonNull(connection, "connection");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * The admission gate let this client in: start connecting to a backend (at once if the channel is active, else
     * when it becomes active). Until then client bytes and a FIN are held. Called on the channel's event loop.
     */
    public void admit() {
        admitted = true;
        if (ctx != null && ctx.channel().isActive()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (admitted) {
            start(ctx);
        }
        ctx.fireChannelActive();
    }

    private void start(ChannelHandlerContext ctx) {
        if (started) {
            return;
        }
        started = true;
        holdUntilNanos = System.nanoTime() + route.route().timeouts().queue().toNanos();
        connectNext(ctx);
    }

    private void connectNext(ChannelHandlerContext ctx) {
        Channel frontend = ctx.channel();
        if (!frontend.isActive()) {
            return;
        }
        Route config = route.route();
        InetAddress client = ((InetSocketAddress) frontend.remoteAddress()).getAddress();
        Backend target = attempts > config.retries()
                ? null
                : route.balancer().pick(client, route.pool().current(), tried);
        if (target == null) {
            holdOrGiveUp(ctx);
            return;
        }
        if (!target.tryConnectionStarted()) {
            tried.add(target); // it reached its cap since the pick: try another, without spending a retry
            connectNext(ctx);
            return;
        }
        attempts++;
        ChannelFuture connecting = route.backendBootstrap()
                .clone(frontend.eventLoop())
                .handler(new RelayHandler(
                        frontend, "backend", config.timeouts().serverFin(), route.spliceAfter(), this::spliceFallback))
                .connect(target.address());
        backend = connecting.channel();
        connecting.addListener((ChannelFuture f) -> {
            if (!frontend.isActive()) {
                // The client left (or was timed out) while we were connecting: not the backend's fault.
                f.channel().close();
                target.connectionEnded();
            } else if (!f.isSuccess()) {
                target.connectionEnded();
                route.metrics().backendConnectFailed();
                route.pool().connectFailed(target, f.cause());
                tried.add(target);
                failures.add(target + ": " + describe(f.cause()));
                connectNext(ctx);
            } else {
                route.pool().connectSucceeded(target);
                f.channel().closeFuture().addListener(closed -> target.connectionEnded());
                startRelay(ctx, f.channel(), target);
            }
        });
    }

    /** Nothing to try now: wait for a backend to become available within the queue timeout, or close the client. */
    private void holdOrGiveUp(ChannelHandlerContext ctx) {
        long left = holdUntilNanos - System.nanoTime();
        if (left <= 0) {
            route.metrics().noBackend();
            log.warn(
                    "frontend {} -> route {}: no backend accepted ({}); closing client",
                    ctx.channel().remoteAddress(),
                    route.name(),
                    attempts == 0 && failures.length() == 0 ? "no backend available" : failures);
            closeUnserved(ctx);
            return;
        }
        // A new round after the pause: every backend may be tried again, with a fresh retry budget.
        holding = ctx.executor()
                .schedule(
                        () -> {
                            holding = null;
                            tried.clear();
                            attempts = 0;
                            connectNext(ctx);
                        },
                        Math.min(TimeUnit.MILLISECONDS.toNanos(HOLD_TICK_MILLIS), left),
                        TimeUnit.NANOSECONDS);
    }

    private void startRelay(ChannelHandlerContext ctx, Channel connected, Backend target) {
        Channel frontend = ctx.channel();
        RelayHandler fromClient = new RelayHandler(
                connected, "frontend", route.route().timeouts().clientFin(), route.spliceAfter(), this::spliceFallback);
        RelayHandler fromBackend = connected.pipeline().get(RelayHandler.class);
        connection.relaying(connected, target, fromClient, fromBackend);
        List<Object> held = new ArrayList<>(early);
        early.clear(); // handed to the relay below, not released when this handler is removed
        ctx.pipeline().replace(this, "relay", fromClient);
        log.debug("frontend {} -> backend {} connected (route {})", frontend, connected, route.name());
        connected.config().setAutoRead(true);
        if (!held.isEmpty()) {
            held.forEach(frontend.pipeline()::fireChannelRead);
            frontend.pipeline().fireChannelReadComplete();
        }
        if (clientFinished) {
            frontend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        } else {
            frontend.config().setAutoRead(true);
        }
    }

    /**
     * Closes a client that no backend took, with a FIN whether or not it had sent bytes: closing a socket with unread
     * bytes would send a reset instead. So what the client sent is read and dropped first, and the client closed at
     * the end of that read, or after {@value #UNSERVED_DRAIN_MILLIS}ms if nothing comes (bytes arriving later still
     * meet a reset, as with HAProxy).
     */
    private void closeUnserved(ChannelHandlerContext ctx) {
        unserved = true;
        releaseEarly();
        Channel frontend = ctx.channel();
        frontend.eventLoop().schedule(() -> frontend.close(), UNSERVED_DRAIN_MILLIS, TimeUnit.MILLISECONDS);
        frontend.config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (unserved) {
            ReferenceCountUtil.release(msg);
        } else {
            early.add(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (unserved) {
            ctx.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientFinished = true;
            if (unserved) {
                ctx.close();
            }
        } else if (evt != ChannelInputShutdownReadComplete.INSTANCE) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // The client left before a backend accepted: abandon the attempt in progress.
        if (backend != null) {
            backend.close();
        }
        if (holding != null) {
            holding.cancel(false);
        }
        releaseEarly();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseEarly();
    }

    private void releaseEarly() {
        for (Object msg; (msg = early.poll()) != null; ) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("frontend {} failed while connecting to a backend: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    private void spliceFallback(IOException noPipe) {
        route.metrics().spliceFallback(route.name(), noPipe);
    }

    private static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown error";
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
