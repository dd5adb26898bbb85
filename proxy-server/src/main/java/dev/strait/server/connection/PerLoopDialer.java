package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import dev.strait.server.route.RouteRuntime;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.EventLoop;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The server's {@link BackendDialer}: the route's bootstrap cloned onto each event loop once, not once per connection
 * (a clone copies the option and attribute maps: about a tenth of a short connection's garbage). Each clone is used
 * only on its own event loop, which sets the new connection's handler and connects in one go, so sharing it needs no
 * lock. A reload's new bootstrap replaces a loop's clone on that loop's next connection. A backend spoken to over
 * TLS goes through {@link BackendDialer#BOOTSTRAP}, which adds the handshake.
 */
final class PerLoopDialer implements BackendDialer {
    /** What a clone holds between connections, so that it keeps no closed connection reachable. */
    private static final ChannelHandler NONE = new Idle();

    private final Map<EventLoop, OnLoop> clones = new ConcurrentHashMap<>();

    @Override
    public ChannelFuture dial(RouteRuntime route, Channel frontend, Backend target, RelayHandler fromBackend) {
        if (route.backendTls().forBackend(target.name()).isPresent()) {
            // A TLS backend gets its SslHandler and a handshake before the relay: the bootstrap's own path.
            return BackendDialer.BOOTSTRAP.dial(route, frontend, target, fromBackend);
        }
        EventLoop loop = frontend.eventLoop();
        Bootstrap template = route.backendBootstrap();
        OnLoop onLoop = clones.get(loop);
        if (onLoop == null || onLoop.template() != template) {
            onLoop = new OnLoop(template, template.clone(loop));
            clones.put(loop, onLoop);
        }
        Bootstrap bootstrap = onLoop.bootstrap();
        ChannelFuture connecting = bootstrap.handler(fromBackend).connect(target.address());
        bootstrap.handler(NONE); // the channel has its handler now: Bootstrap adds it while connect() runs
        return connecting;
    }

    private record OnLoop(Bootstrap template, Bootstrap bootstrap) {}

    @ChannelHandler.Sharable
    private static final class Idle extends ChannelHandlerAdapter {}
}
