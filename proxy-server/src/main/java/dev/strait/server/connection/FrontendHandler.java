package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.relay.RelayHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Connects a newly accepted client to a backend, then replaces itself with a {@link RelayHandler}.
 *
 * <p>The client channel starts with auto-read off, so client bytes are normally read only once a backend has accepted.
 * Native transports still read a client that half-closes early (epoll and io_uring drain the socket on a FIN), so
 * whatever arrives meanwhile is held, in order, and forwarded first; an early FIN is replayed to the relay. Backends
 * are tried in the pool's order, each with the route's connect timeout; if none accepts, the client is closed at once
 * and the failure is logged once with both addresses and every cause.
 *
 * <p>Thread model: the backend channel is registered on the client's event loop, so this handler, both relay handlers
 * and every listener below run on one thread and need no {@code volatile}.
 */
public final class FrontendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LogManager.getLogger(FrontendHandler.class);

    private final RouteRuntime route;
    private final ProxiedConnection connection;
    private final StringJoiner failures = new StringJoiner("; ");
    private final ArrayDeque<Object> early = new ArrayDeque<>(2);
    private boolean clientFinished;
    private Channel backend;

    public FrontendHandler(RouteRuntime route, ProxiedConnection connection) {
        this.route = requireNonNull(route, "route");
        this.connection = requireNonNull(connection, "connection");
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connect(ctx, 0);
        ctx.fireChannelActive();
    }

    private void connect(ChannelHandlerContext ctx, int attempt) {
        Channel frontend = ctx.channel();
        List<InetSocketAddress> candidates = route.backends().candidates();
        if (attempt >= candidates.size()) {
            route.metrics().noBackend();
            log.warn(
                    "frontend {} -> route {}: no backend accepted ({}); closing client",
                    frontend.remoteAddress(),
                    route.name(),
                    failures);
            frontend.close();
            return;
        }
        InetSocketAddress target = candidates.get(attempt);
        ChannelFuture connecting = route.backendBootstrap()
                .clone(frontend.eventLoop())
                .handler(new RelayHandler(frontend, "backend"))
                .connect(target);
        backend = connecting.channel();
        connecting.addListener((ChannelFuture f) -> {
            if (!frontend.isActive()) {
                f.channel().close(); // the client left while we were connecting
            } else if (f.isSuccess()) {
                startRelay(ctx, f.channel());
            } else {
                route.metrics().backendConnectFailed();
                failures.add(target + ": " + describe(f.cause()));
                connect(ctx, attempt + 1);
            }
        });
    }

    private void startRelay(ChannelHandlerContext ctx, Channel connected) {
        Channel frontend = ctx.channel();
        RelayHandler fromClient = new RelayHandler(connected, "frontend");
        RelayHandler fromBackend = connected.pipeline().get(RelayHandler.class);
        connection.relaying(connected, fromClient, fromBackend);
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

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        early.add(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientFinished = true;
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

    private static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown error";
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
