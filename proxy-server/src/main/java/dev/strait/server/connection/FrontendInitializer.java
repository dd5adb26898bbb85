package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.config.ProxyProtocol;
import dev.strait.config.Timeouts;
import dev.strait.relay.IdleTimeoutHandler;
import dev.strait.relay.SpliceReader;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import java.util.List;
import java.util.function.Supplier;

/**
 * The frontend pipeline recipe. Each accepted client gets a {@link ProxiedConnection} that owns it, then:
 *
 * <ol>
 *   <li>admission: a denied client, one over a limit in refuse mode, or one that may not wait ({@code timeouts.queue}
 *       0) is closed here, before any backend is contacted and with no pipeline. On a route that accepts the PROXY
 *       protocol, only the TCP peer is checked here (against {@code trustedSources}); the gate judges the client the
 *       header names once the first stage has read it;
 *   <li>{@code idle}: the idle timeout, only when {@code timeouts.idle} is above 0;
 *   <li>pre-relay stages ({@link PreRelayStage}), in the route's order, each present only when the route turns it
 *       on ({@code proxy-protocol} first, when {@code proxyProtocol.accept} is on);
 *   <li>{@code frontend}: the {@link FrontendHandler} that waits for a slot or a backend if it must, connects the
 *       backend and becomes the {@code relay}.
 * </ol>
 *
 * <p>A plain route's pipeline is therefore {@code frontend}, then {@code relay}: nothing per connection beyond it. The
 * route's runtime is read per connection, so a reload applies to new connections only.
 */
@ChannelHandler.Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    private static final AdmissionGate.Verdict UNTRUSTED_PEER =
            new AdmissionGate.Verdict(AdmissionGate.Outcome.DENIED, "peer not in proxyProtocol.trustedSources");

    private final Supplier<RouteRuntime> route;
    private final ConnectionRegistry registry;
    private final BackendDialer dialer;

    public FrontendInitializer(Supplier<RouteRuntime> route, ConnectionRegistry registry) {
        this(route, registry, new PerLoopDialer());
    }

    FrontendInitializer(Supplier<RouteRuntime> route, ConnectionRegistry registry, BackendDialer dialer) {
        this.route = requireNonNull(route, "route");
        this.registry = requireNonNull(registry, "registry");
        this.dialer = requireNonNull(dialer, "dialer");
    }

    @Override
    protected void initChannel(Channel ch) {
        RouteRuntime runtime = route.get();
        Timeouts timeouts = runtime.route().timeouts();
        ProxiedConnection connection = new ProxiedConnection(runtime, ch, registry);
        long deadline = ch.eventLoop().ticker().nanoTime() + timeouts.queue().toNanos();
        ProxyProtocol proxyProtocol = runtime.route().proxyProtocol();
        if (proxyProtocol.accept()) {
            // The gate judges the client the PROXY header names, once it is read; here only the peer is checked.
            if (!proxyProtocol.trusts(connection.peerAddress())) {
                connection.refuse(UNTRUSTED_PEER);
                return;
            }
            connection.awaitHeader();
            build(ch, runtime, connection, deadline);
            return;
        }
        AdmissionGate.Verdict verdict = runtime.gate().admit(connection.clientAddress());
        boolean admitted = verdict.outcome() == AdmissionGate.Outcome.ADMITTED;
        if (!admitted
                && (verdict.outcome() != AdmissionGate.Outcome.WAIT
                        || timeouts.queue().isZero())) {
            connection.refuse(verdict);
            return;
        }
        // One deadline for the whole wait, for a slot and then for a backend, counted from accept.
        if (admitted) {
            connection.admit();
        } else {
            connection.waitForSlot(deadline);
        }
        build(ch, runtime, connection, deadline);
    }

    private void build(Channel ch, RouteRuntime runtime, ProxiedConnection connection, long deadline) {
        Timeouts timeouts = runtime.route().timeouts();
        if (runtime.spliceAfter() > 0) {
            SpliceReader.install(ch); // a no-op unless the transport is epoll
        }
        if (!timeouts.idle().isZero()) {
            ch.pipeline()
                    .addLast(
                            "idle",
                            new IdleTimeoutHandler(
                                    timeouts.idle(), connection::bytesSpliced, connection::idleTimedOut));
        }
        List<PreRelayStage.Factory> stages = runtime.stages();
        for (int i = 0; i < stages.size(); i++) { // indexed: no iterator on the plain route's fast path
            PreRelayStage stage = stages.get(i).create(connection);
            ch.pipeline().addLast(stage.name(), stage);
        }
        ch.pipeline().addLast("frontend", new FrontendHandler(runtime, connection, dialer, deadline));
    }
}
