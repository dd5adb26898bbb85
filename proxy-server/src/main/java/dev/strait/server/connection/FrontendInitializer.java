package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Timeouts;
import dev.strait.relay.IdleTimeoutHandler;
import dev.strait.relay.SpliceReader;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteRuntime;
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
 * The frontend pipeline recipe. Admission first: a denied or refused client is closed before any backend is
 * contacted. An admitted client, or one told to wait (queue mode, a limit reached), gets its pipeline — an optional
 * idle timeout and lifetime cap, then the {@link FrontendHandler} that holds early client bytes, connects the backend
 * once admitted and becomes the relay — and is registered for draining and the admin endpoint. A waiting client asks
 * again every {@value #WAIT_TICK_MILLIS}ms, for up to {@code timeouts.queue} when that is set.
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
        RouteRuntime runtime = route.get();
        InetAddress client = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        AdmissionGate.Verdict verdict = runtime.gate().admit(client);
        if (verdict.outcome() == AdmissionGate.Outcome.DENIED || verdict.outcome() == AdmissionGate.Outcome.REFUSED) {
            refuse(ch, runtime, verdict);
            return;
        }
        ProxiedConnection connection = registry.register(runtime.name(), ch);
        if (runtime.spliceAfter() > 0) {
            SpliceReader.install(ch); // a no-op unless the transport is epoll
        }
        FrontendHandler frontend = new FrontendHandler(runtime, connection);
        Timeouts timeouts = runtime.route().timeouts();
        if (!timeouts.idle().isZero()) {
            ch.pipeline().addLast("idle", new IdleTimeoutHandler(timeouts.idle(), connection::bytesSpliced));
        }
        if (!timeouts.maxLifetime().isZero()) {
            cutAfter(ch, timeouts);
        }
        ch.pipeline().addLast("frontend", frontend);
        if (verdict.outcome() == AdmissionGate.Outcome.ADMITTED) {
            admitted(ch, runtime, client, frontend, connection);
        } else {
            // 0: wait as long as it takes (the listener is paused, so few clients get here).
            long deadline = timeouts.queue().isZero()
                    ? 0
                    : System.nanoTime() + timeouts.queue().toNanos();
            waitForSlot(ch, runtime, client, frontend, connection, deadline);
        }
    }

    private void waitForSlot(
            Channel ch,
            RouteRuntime runtime,
            InetAddress client,
            FrontendHandler frontend,
            ProxiedConnection connection,
            long deadline) {
        ch.eventLoop()
                .schedule(
                        () -> {
                            if (!ch.isActive()) {
                                return; // the waiting client left
                            }
                            AdmissionGate.Verdict verdict = runtime.gate().admit(client);
                            switch (verdict.outcome()) {
                                case ADMITTED -> admitted(ch, runtime, client, frontend, connection);
                                case WAIT -> {
                                    if (deadline != 0 && System.nanoTime() - deadline >= 0) {
                                        refuse(ch, runtime, verdict);
                                    } else {
                                        waitForSlot(ch, runtime, client, frontend, connection, deadline);
                                    }
                                }
                                default -> refuse(ch, runtime, verdict);
                            }
                        },
                        WAIT_TICK_MILLIS,
                        TimeUnit.MILLISECONDS);
    }

    private static void admitted(
            Channel ch,
            RouteRuntime runtime,
            InetAddress client,
            FrontendHandler frontend,
            ProxiedConnection connection) {
        runtime.metrics().accepted();
        ch.closeFuture().addListener(f -> {
            runtime.metrics().closed(connection.bytesFromClient(), connection.bytesFromBackend());
            runtime.gate().release(client);
        });
        frontend.admit();
    }

    private static void refuse(Channel ch, RouteRuntime runtime, AdmissionGate.Verdict verdict) {
        if (verdict.outcome() == AdmissionGate.Outcome.DENIED) {
            runtime.metrics().denied();
        } else {
            runtime.metrics().refused();
        }
        log.debug("frontend {} -> route {}: refused ({})", ch.remoteAddress(), runtime.name(), verdict.reason());
        ch.close();
    }

    private static void cutAfter(Channel ch, Timeouts timeouts) {
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
}
