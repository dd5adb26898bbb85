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
 * is contacted; in queue mode a client over the limit waits, unread, until a slot frees); then the connection is
 * registered for draining and the admin endpoint; then an optional idle timeout and lifetime cap; then the
 * {@link FrontendHandler} that connects the backend and becomes the relay.
 *
 * <p>The route's runtime is read per connection, so a reload applies to new connections only.
 */
@ChannelHandler.Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    static final long WAIT_TICK_MILLIS = 50;
    private static final Logger log = LogManager.getLogger(FrontendInitializer.class);

    private final Supplier<RouteRuntime> route;
    private final ConnectionRegistry registry;

    public FrontendInitializer(Supplier<RouteRuntime> route, ConnectionRegistry registry) {
        this.route = requireNonNull(route, "route");
        this.registry = requireNonNull(registry, "registry");
    }

    @Override
    protected void initChannel(Channel ch) {
        admit(ch, route.get());
    }

    private void admit(Channel ch, RouteRuntime runtime) {
        if (!ch.isActive()) {
            return; // a waiting client left
        }
        InetAddress client = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        AdmissionGate.Verdict verdict = runtime.gate().admit(client);
        switch (verdict.outcome()) {
            case ADMITTED -> start(ch, runtime, client);
            case WAIT -> ch.eventLoop().schedule(() -> admit(ch, runtime), WAIT_TICK_MILLIS, TimeUnit.MILLISECONDS);
            case DENIED, REFUSED -> {
                if (verdict.outcome() == AdmissionGate.Outcome.DENIED) {
                    runtime.metrics().denied();
                } else {
                    runtime.metrics().refused();
                }
                log.debug(
                        "frontend {} -> route {}: refused ({})", ch.remoteAddress(), runtime.name(), verdict.reason());
                ch.close();
            }
        }
    }

    private void start(Channel ch, RouteRuntime runtime, InetAddress client) {
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
        // Added after admission, possibly after a wait: the handler starts connecting when added to an active channel.
        ch.pipeline().addLast("frontend", new FrontendHandler(runtime, connection));
    }
}
