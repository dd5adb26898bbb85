package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.config.RouteProtocol;
import dev.strait.relay.RelayHandler;
import dev.strait.server.lifecycle.BackendGreeting;
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
     * On a {@code protocol: postgres} route the handshake starts only once the backend answered Strait's SSLRequest
     * {@code S}; any other answer fails the attempt the same way.
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
        boolean postgres = route.route().protocol() == RouteProtocol.POSTGRES;
        long handshakeMillis = Math.max(1, route.route().timeouts().connect().toMillis());
        ChannelFuture connecting = route.backendBootstrap()
                .clone(frontend.eventLoop())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (!postgres) {
                            ch.pipeline().addLast("tls", newSslHandler(ch, tls, address, handshakeMillis));
                        }
                        ch.pipeline().addLast("handshake", new HandshakeWait());
                    }
                })
                .connect(address);
        Channel ch = connecting.channel();
        ChannelPromise handshaken = ch.newPromise();
        connecting.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                handshaken.tryFailure(f.cause());
            } else if (!postgres) {
                handshake(ch, fromBackend, handshaken);
            } else {
                // PostgreSQL speaks TLS only once asked with an SSLRequest and it answered S.
                BackendGreeter.greet(
                                ch,
                                BackendGreeting.POSTGRES_SSL,
                                route.route().timeouts().connect())
                        .addListener(answered -> {
                            if (answered.isSuccess()) {
                                ch.pipeline().addFirst("tls", newSslHandler(ch, tls, address, handshakeMillis));
                                handshake(ch, fromBackend, handshaken);
                            } else {
                                handshaken.tryFailure(
                                        answered.cause()); // a BackendGreeter.Rejected: the connector logs it
                            }
                        });
            }
        });
        return handshaken;
    }

    private static SslHandler newSslHandler(
            Channel ch, BackendTlsContexts.Target tls, InetSocketAddress address, long handshakeMillis) {
        SslHandler ssl = tls.newHandler(ch.alloc(), address);
        ssl.setHandshakeTimeoutMillis(handshakeMillis);
        return ssl;
    }

    /** Lets the handshake of the {@link SslHandler} in {@code ch}'s pipeline run; puts the relay in once it succeeded. */
    private static void handshake(Channel ch, RelayHandler fromBackend, ChannelPromise handshaken) {
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
