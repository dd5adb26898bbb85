package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.relay.IdleTimeoutHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import java.time.Duration;

/**
 * The frontend pipeline recipe: an optional idle timeout, then the {@link FrontendHandler} that connects the backend
 * and becomes the relay. Each accepted channel is also registered for draining and the admin endpoint.
 */
@ChannelHandler.Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    private final RouteRuntime route;
    private final ConnectionRegistry registry;

    public FrontendInitializer(RouteRuntime route, ConnectionRegistry registry) {
        this.route = requireNonNull(route, "route");
        this.registry = requireNonNull(registry, "registry");
    }

    @Override
    protected void initChannel(Channel ch) {
        ProxiedConnection connection = registry.register(route.name(), ch);
        route.metrics().accepted();
        ch.closeFuture().addListener(f -> route.metrics().closed(connection));
        Duration idle = route.route().timeouts().idle();
        if (!idle.isZero()) {
            ch.pipeline().addLast("idle", new IdleTimeoutHandler(idle));
        }
        ch.pipeline().addLast("frontend", new FrontendHandler(route, connection));
    }
}
