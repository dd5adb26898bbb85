package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import dev.strait.relay.RelayListener;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.lifecycle.ConnectionState.Accepted;
import dev.strait.server.lifecycle.ConnectionState.Admitted;
import dev.strait.server.lifecycle.ConnectionState.Closed;
import dev.strait.server.lifecycle.ConnectionState.Connecting;
import dev.strait.server.lifecycle.ConnectionState.Relaying;
import dev.strait.server.lifecycle.ConnectionState.Staging;
import dev.strait.server.lifecycle.ConnectionState.WaitingForBackend;
import dev.strait.server.lifecycle.ConnectionState.WaitingForSlot;
import dev.strait.server.lifecycle.StageHost;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The owner of one client connection, from accept to close: its {@link ConnectionState}, the transitions between
 * states (each legal from named states only, else an {@link IllegalStateException}), its close cause, and the one
 * close path.
 *
 * <p>Close path: it runs once, when the client channel closes, whoever closed it. It records the state as
 * {@link Closed} with one {@link CloseCause}, then releases what the state it leaves held: the attempt in progress,
 * the backend's count, the admission slot with the route's counters, the registry entry and every timer; and logs
 * one debug line with both addresses and the cause. A cause is noted by whoever sees why the connection ends (a
 * timer, the connector, the relay through {@link RelayListener}); weak causes (a side's FIN or close) give way to a
 * later strong one, and between strong ones the first wins.
 *
 * <p>Thread model: transitions, notes and the close path run on the client's event loop (the backend channel shares
 * it); the state is volatile so that the admin endpoint may read it from any thread.
 */
public final class ProxiedConnection implements ConnectionView, StageHost, ChannelFutureListener, RelayListener {
    private static final Logger log = LogManager.getLogger(ProxiedConnection.class);
    private static final Accepted ACCEPTED = new Accepted();
    private static final Admitted ADMITTED = new Admitted();
    // The states each transition is legal from, as constants: varargs would allocate an array per transition.
    private static final List<Class<?>> FROM_ACCEPTED = List.of(Accepted.class);
    private static final List<Class<?>> FROM_ACCEPTED_OR_WAITING_FOR_SLOT =
            List.of(Accepted.class, WaitingForSlot.class);
    private static final List<Class<?>> FROM_ADMITTED_OR_STAGING = List.of(Admitted.class, Staging.class);
    private static final List<Class<?>> FROM_READY_TO_CONNECT =
            List.of(Admitted.class, Staging.class, WaitingForBackend.class);
    private static final List<Class<?>> FROM_CONNECTING = List.of(Connecting.class);

    private final RouteRuntime route;
    private final Channel frontend;
    private final ConnectionRegistry registry;
    private final Instant started = Instant.now();
    private volatile ConnectionState state = ACCEPTED;
    private CloseCause cause;
    private String detail;
    private Future<?> lifetime;
    private Waiter waiter;

    ProxiedConnection(RouteRuntime route, Channel frontend, ConnectionRegistry registry) {
        this.route = route;
        this.frontend = frontend;
        this.registry = registry;
        frontend.closeFuture().addListener(this);
    }

    /** Accepted or WaitingForSlot -> Closed: the gate denied or refused the client, or it could not wait. */
    void refuse(AdmissionGate.Verdict verdict) {
        if (!(state instanceof Accepted || state instanceof WaitingForSlot)) {
            throw illegal("refused");
        }
        boolean denied = verdict.outcome() == AdmissionGate.Outcome.DENIED;
        if (denied) {
            route.metrics().denied();
        } else {
            route.metrics().refused();
        }
        detail = verdict.reason();
        close(denied ? CloseCause.DENIED : CloseCause.LIMIT);
    }

    /** Accepted -> WaitingForSlot: a limit is reached in queue mode; the client waits unread. */
    void waitForSlot(long deadlineNanos) {
        move(new WaitingForSlot(deadlineNanos), FROM_ACCEPTED);
        registered();
    }

    /** Accepted or WaitingForSlot -> Admitted: the gate counts this client now. */
    void admit() {
        boolean waited = state instanceof WaitingForSlot;
        move(ADMITTED, FROM_ACCEPTED_OR_WAITING_FOR_SLOT);
        route.metrics().accepted();
        if (!waited) {
            registered();
        }
    }

    private void registered() {
        registry.register(this);
        long maxLifetime = route.route().timeouts().maxLifetime().toNanos();
        if (maxLifetime > 0) {
            lifetime = frontend.eventLoop().schedule(this::lifetimeReached, maxLifetime, TimeUnit.NANOSECONDS);
        }
    }

    /** Admitted or Staging -> Staging: a pre-relay stage starts reading the client, under its own deadline. */
    @Override
    public void staging(String stage, Duration deadline, CloseCause onDeadline) {
        move(new Staging(stage), FROM_ADMITTED_OR_STAGING);
        waiter().sleep(deadline.toNanos(), () -> close(onDeadline));
    }

    /** Admitted, Staging or WaitingForBackend -> Connecting: attempt {@code attempt} to {@code backend} (counted). */
    void connecting(Backend backend, int attempt, Channel attemptChannel) {
        move(new Connecting(backend, attempt, attemptChannel), FROM_READY_TO_CONNECT);
    }

    /** Admitted, Staging or WaitingForBackend -> WaitingForBackend: no backend to try now. */
    void waitForBackend(long deadlineNanos) {
        move(new WaitingForBackend(deadlineNanos), FROM_READY_TO_CONNECT);
    }

    /** Connecting -> Relaying: the backend accepted and both directions are handed to the relay. */
    void relaying(RelayHandler fromClient, RelayHandler fromBackend) {
        if (!(state instanceof Connecting c)) {
            throw illegal("relaying");
        }
        state = new Relaying(c.backend(), c.channel(), fromClient, fromBackend);
    }

    /** Notes why the connection is ending and closes the client (its backend follows); from any thread. */
    @Override
    public void close(CloseCause why) {
        if (!frontend.eventLoop().inEventLoop()) {
            frontend.eventLoop().execute(() -> close(why));
            return;
        }
        note(why);
        frontend.close();
    }

    /** Notes why the connection is ending, for when it closes; see the class javadoc for which cause wins. */
    void note(CloseCause why) {
        if (!(state instanceof Closed) && (cause == null || (cause.weak() && !why.weak()))) {
            cause = why;
        }
    }

    /** Connecting -> Admitted: the attempt failed; its backend is released. */
    void attemptFailed() {
        move(ADMITTED, FROM_CONNECTING);
    }

    /** This connection's one wait (for a slot or a backend), made on first use and stopped by the close path. */
    Waiter waiter() {
        if (waiter == null) {
            waiter = new Waiter(frontend.eventLoop(), route.waiters());
        }
        return waiter;
    }

    private void move(ConnectionState next, List<Class<?>> from) {
        ConnectionState now = state;
        for (int i = 0; i < from.size(); i++) { // indexed: no iterator
            if (from.get(i).isInstance(now)) {
                if (now instanceof Staging) {
                    waiter.stop(); // the stage's deadline
                }
                Backend held = now.backend();
                if (held != null) {
                    // An attempt that ended without a relay; no wake-up: the backend just refused or timed out.
                    held.connectionEnded();
                }
                state = next;
                return;
            }
        }
        throw illegal(next.name());
    }

    private IllegalStateException illegal(String to) {
        return new IllegalStateException("connection " + id() + ": no transition from " + state.name() + " to " + to);
    }

    @Override
    public void ended(String side, End end) {
        note(CloseCause.of("frontend".equals(side), end));
    }

    /** The idle timeout is closing the connection. */
    void idleTimedOut() {
        note(CloseCause.IDLE_TIMEOUT);
    }

    private void lifetimeReached() {
        log.info(
                "frontend {} reached maxLifetime {}ms; closing",
                frontend,
                route.route().timeouts().maxLifetime().toMillis());
        close(CloseCause.MAX_LIFETIME);
    }

    /** The close path: the client channel closed. Runs once. */
    @Override
    public void operationComplete(ChannelFuture closed) {
        ConnectionState was = state;
        if (was instanceof Closed) {
            return;
        }
        CloseCause why = cause == null ? CloseCause.CLIENT_CLOSE : cause;
        state = new Closed(why, was);
        if (lifetime != null) {
            lifetime.cancel(false);
        }
        if (waiter != null) {
            waiter.stop();
        }
        if (was instanceof Connecting c) {
            c.channel().close(); // abandon the attempt: the client left, or gave up
        }
        Backend backend = was.backend();
        if (was instanceof Relaying relaying) {
            // The backend's count (and cap) covers its socket until that closes, which may be after the client's.
            relaying.channel().closeFuture().addListener(backendClosed -> released(backend));
        } else if (backend != null) {
            released(backend);
        }
        if (was.holdsSlot()) {
            route.metrics().closed(was.bytesFromClient(), was.bytesFromBackend());
            route.gate().release(clientAddress());
        }
        registry.remove(this);
        if (log.isDebugEnabled()) {
            log.debug(
                    "frontend {} -> backend {} (route {}) closed in state {}: {}{}",
                    frontend.remoteAddress(),
                    was instanceof Relaying ? was.backendAddress() : backend,
                    route.name(),
                    was.name(),
                    why,
                    detail == null ? "" : " (" + detail + ")");
        }
    }

    private void released(Backend backend) {
        if (backend.connectionEnded() == backend.maxConnections() - 1) {
            route.waiters().wakeAll(); // a capped backend went from full to having room
        }
    }

    @Override
    public Channel frontend() {
        return frontend;
    }

    @Override
    public String route() {
        return route.name();
    }

    @Override
    public Instant started() {
        return started;
    }

    @Override
    public ConnectionState state() {
        return state;
    }

    InetAddress clientAddress() {
        return frontend.remoteAddress() instanceof InetSocketAddress a
                ? a.getAddress()
                : InetAddress.getLoopbackAddress();
    }
}
