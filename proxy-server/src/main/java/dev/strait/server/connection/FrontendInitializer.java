package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Timeouts;
import dev.strait.relay.IdleTimeoutHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The frontend pipeline recipe. Admission first (allow/deny, limits: a refused client is closed before any backend
 * is contacted); then the connection is registered for draining and the admin endpoint; then an optional idle
 * timeout and lifetime cap; then the {@link FrontendHandler} that connects the backend and becomes the relay.
 *
 * <p>The route's runtime is read per connection, so a reload applies to new connections only.
 */
@ChannelHandler.Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    private static final Logger log = LogManager.getLogger(FrontendInitializer.class);

    private final Supplier<RouteRuntime> route;
    private final ConnectionRegistry registry;

    public FrontendInitializer(Supplier<RouteRuntime> route, ConnectionRegistry registry) {
        this.route = requireNonNull(route, "route");
        this.registry = requireNonNull(registry, "registry");
    }

    @Override
    protected void initChannel(Channel ch) {
        RouteRuntime runtime = route.get();
        InetAddress client = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        String refusal = runtime.gate().admit(client);
        if (refusal != null) {
            if (refusal.startsWith("denied")) {
                runtime.metrics().denied();
            } else {
                runtime.metrics().refused();
            }
            log.debug("frontend {} -> route {}: refused ({})", ch.remoteAddress(), runtime.name(), refusal);
            ch.close();
            return;
        }
        ProxiedConnection connection = registry.register(runtime.name(), ch);
        runtime.metrics().accepted();
        ch.closeFuture().addListener(f -> {
            runtime.metrics().closed(connection);
            runtime.gate().release(client);
        });
        Timeouts timeouts = runtime.route().timeouts();
        if (!timeouts.idle().isZero()) {
            ch.pipeline().addLast("idle", new IdleTimeoutHandler(timeouts.idle()));
        }
        if (!timeouts.maxLifetime().isZero()) {
            ScheduledFuture<?> cut = ch.eventLoop()
                    .schedule(
                            () -> {
                                log.info(
                                        "frontend {} reached maxLifetime {}ms; closing",
                                        ch,
                                        timeouts.maxLifetime().toMillis());
                                ch.close();
                            },
                            timeouts.maxLifetime().toNanos(),
                            TimeUnit.NANOSECONDS);
            ch.closeFuture().addListener(f -> cut.cancel(false));
        }
        ch.pipeline().addLast("frontend", new FrontendHandler(runtime, connection));
    }
}
