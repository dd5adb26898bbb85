package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import dev.strait.server.route.RouteRuntime;
import dev.strait.server.tls.BackendTlsContexts;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * Opens the backend side of one client's connection, with the backend's relay already in its pipeline. The route's
 * bootstrap does it in the server; a unit test injects one that hands back channels it controls.
 */
@FunctionalInterface
interface BackendDialer {
    /**
     * Clones the route's bootstrap onto the client's event loop: both sides then share one thread, so no volatile. A
     * backend with TLS gets an {@link SslHandler} before its relay, and the attempt succeeds only once the handshake
     * has (a wrong certificate or name fails it like a refused connect: the next backend is tried, the reason logged).
     */
    BackendDialer BOOTSTRAP = (route, frontend, target, fromBackend) -> {
        Optional<BackendTlsContexts.Target> tls = route.backendTls().forBackend(target.name());
        if (tls.isEmpty()) {
            return route.backendBootstrap()
                    .clone(frontend.eventLoop())
                    .handler(fromBackend)
                    .connect(target.address());
        }
        return dialTls(route, frontend, target, fromBackend, tls.get());
    };

    /** Starts connecting {@code frontend}'s backend side to {@code target}. */
    ChannelFuture dial(RouteRuntime route, Channel frontend, Backend target, RelayHandler fromBackend);

    private static ChannelFuture dialTls(
            RouteRuntime route,
            Channel frontend,
            Backend target,
            RelayHandler fromBackend,
            BackendTlsContexts.Target tls) {
        InetSocketAddress address = target.address();
        ChannelFuture connecting = route.backendBootstrap()
                .clone(frontend.eventLoop())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslHandler ssl = tls.newHandler(ch.alloc(), address);
                        ssl.setHandshakeTimeoutMillis(
                                Math.max(1, route.route().timeouts().connect().toMillis()));
                        ch.pipeline().addLast("tls", ssl).addLast("handshake", new HandshakeWait());
                    }
                })
                .connect(address);
        Channel ch = connecting.channel();
        ChannelPromise handshaken = ch.newPromise();
        connecting.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                handshaken.tryFailure(f.cause());
                return;
            }
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                handshaken.tryFailure(new IllegalStateException("backend TLS handler missing"));
                return;
            }
            ch.read(); // auto-read stays off until the relay: the handshake reads on request
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    ch.pipeline().replace(HandshakeWait.class, "relay", fromBackend);
                    handshaken.trySuccess();
                } else {
                    handshaken.tryFailure(h.cause());
                    ch.close();
                }
            });
        });
        return handshaken;
    }

    /**
     * Stands where the relay will be while the backend handshakes: the relay is added only once it succeeded, so a
     * failed handshake closes the backend alone and the connector tries the next one. The failure itself is reported
     * through the handshake's future.
     */
    final class HandshakeWait extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
