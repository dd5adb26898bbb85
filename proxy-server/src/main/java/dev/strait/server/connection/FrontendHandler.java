package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.proxyprotocol.ProxyHeaderEncoder;
import dev.strait.relay.RelayHandler;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.HeldInput;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.route.RouteRuntime;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The last handler before the relay: holds what the client sends while its {@link BackendConnector} gets it a backend,
 * then replaces itself with a {@link RelayHandler} and hands the held bytes and FIN over first.
 *
 * <p>The client starts with auto-read off, so its bytes are normally read only once a backend has accepted. Native
 * transports still read a client that half-closes early (epoll and io_uring drain the socket on a FIN), and a
 * pre-relay stage hands over what it read, so whatever arrives meanwhile is held, in order, and forwarded first; an
 * early FIN is replayed to the relay. A client no backend took is closed with a FIN after its bytes are dropped.
 *
 * <p>Thread model: the backend channel is registered on the client's event loop, so this handler, both relay handlers
 * and every listener run on one thread and need no {@code volatile}.
 */
public final class FrontendHandler extends ChannelInboundHandlerAdapter {
    static final long UNSERVED_DRAIN_MILLIS = 100;
    private static final Logger log = LogManager.getLogger(FrontendHandler.class);

    private final RouteRuntime route;
    private final ProxiedConnection connection;
    private final BackendDialer dialer;
    private final long deadlineNanos;
    private final HeldInput held = new HeldInput();
    private BackendConnector connector;
    private ChannelHandlerContext ctx;
    private boolean unserved;
    private boolean handedOver;

    /** @param deadlineNanos the end of any wait, on the client event loop's ticker: accept plus timeouts.queue */
    FrontendHandler(RouteRuntime route, ProxiedConnection connection, BackendDialer dialer, long deadlineNanos) {
        this.route = requireNonNull(route, "route");
        this.connection = requireNonNull(connection, "connection");
        this.dialer = requireNonNull(dialer, "dialer");
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().isActive()) {
            begin();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        begin();
        ctx.fireChannelActive();
    }

    private void begin() {
        if (connector == null) {
            connector = new BackendConnector(route, connection, dialer, deadlineNanos, this, ctx.channel());
            connector.start();
        }
    }

    /** Gives the first pre-relay stage its turn; the last one's hand-over comes back here as the same event. */
    void runStages() {
        ctx.pipeline().fireUserEventTriggered(PreRelayStage.START);
    }

    /** The backend accepted: the relay takes this handler's place and gets the held bytes and FIN first. */
    void relay(Channel connected) {
        Channel frontend = ctx.channel();
        RelayHandler fromClient = new RelayHandler(
                connected,
                "frontend",
                route.route().timeouts().clientFin(),
                route.spliceAfter(),
                this::spliceFallback,
                connection);
        Backend target = connection.state().backend();
        RelayHandler fromBackend = connected.pipeline().get(RelayHandler.class);
        connection.relaying(fromClient, fromBackend);
        if (target.sendProxyProtocol() != ProxyHeaderVersion.OFF) {
            // The first bytes on the backend connection: queued before any relayed byte or spliced region.
            connected.writeAndFlush(
                    ProxyHeaderEncoder.encode(
                            target.sendProxyProtocol(),
                            connection.client(),
                            connection.destination(),
                            connection.serverName(),
                            connected.alloc()),
                    connected.voidPromise());
        }
        handedOver = true; // what is held goes to the relay below, not released when this handler is removed
        ctx.pipeline().replace(this, "relay", fromClient);
        Consumer<ByteBuf> capture = route.captures()
                .relayStarting(route.name(), connection.client(), frontend, connected, fromClient, fromBackend);
        if (capture != null && route.route().tls().isEmpty()) {
            held.peek(capture); // read before the relay, so before the tap; on a TLS route the tap sees ciphertext
        }
        log.debug(
                "frontend {} -> backend {} connected (route {})", connection.describeClient(), connected, route.name());
        connected.config().setAutoRead(true);
        boolean finished = held.finished();
        // Into the relay that took this handler's place (a replaced handler's context leads to its replacement), not
        // from the pipeline's head: a TLS client's held bytes are plaintext and must not pass its SslHandler again.
        held.replay(ctx);
        if (!finished) {
            frontend.config().setAutoRead(true);
        }
    }

    /**
     * Closes a client that no backend took, with a FIN whether or not it had sent bytes: closing a socket with unread
     * bytes would send a reset instead. So what the client sent is read and dropped first, and the client closed at
     * the end of that read, or after {@value #UNSERVED_DRAIN_MILLIS}ms if nothing comes (bytes arriving later still
     * meet a reset, as with HAProxy). The cause was noted by the connector.
     */
    void closeUnserved() {
        unserved = true;
        held.release();
        connection.waiter().sleep(TimeUnit.MILLISECONDS.toNanos(UNSERVED_DRAIN_MILLIS), ctx::close);
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (unserved) {
            ReferenceCountUtil.release(msg);
        } else {
            held.hold(msg);
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
        if (evt instanceof ChannelInputShutdownEvent || PreRelayStage.isCloseNotify(evt)) {
            // A TLS client's close_notify ends its input as a FIN does: held, then replayed to the relay.
            held.finish();
            if (unserved) {
                ctx.close();
            }
        } else if (evt == PreRelayStage.START) {
            connector.connect(); // the last stage handed over; what it held is held here now
        } else if (evt == PreRelayStage.IDENTIFIED) {
            connector.identified(); // the PROXY header named the client: admission, then the other stages
        } else if (evt != ChannelInputShutdownReadComplete.INSTANCE) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        held.release(); // the close path already abandoned any attempt and stopped the wait
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (!handedOver) {
            held.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("frontend {} failed while connecting to a backend: {}", ctx.channel(), cause.toString());
        if (cause instanceof IOException && !(cause instanceof SSLException)) {
            connection.clientFailed();
        } else {
            connection.close(cause instanceof IOException ? CloseCause.CLIENT_RESET : CloseCause.ERROR);
        }
    }

    void spliceFallback(IOException noPipe) {
        route.metrics().spliceFallback(route.name(), noPipe);
    }
}
