package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.relay.Channels;
import dev.strait.relay.RelayHandler;
import dev.strait.relay.RelayListener;
import dev.strait.server.accesslog.AccessLogLine;
import dev.strait.server.accesslog.AccessLogger;
import dev.strait.server.lifecycle.BackendGreeting;
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
import dev.strait.server.listen.Listeners;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteRuntime;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The owner of one client connection, from accept to close: its {@link ConnectionState}, the transitions between
 * states (each legal from named states only, else an {@link IllegalStateException}), its close cause, and the one
 * close path.
 *
 * <p>Close path: it runs once, when the client channel closes, whoever closed it (one task later on a relaying TLS
 * connection, so that a TLS error thrown after the close still counts: see {@link #operationComplete}). It records
 * the state as {@link Closed} with one {@link CloseCause}, then releases what the state it leaves held: the attempt
 * in progress, the backend's count, the admission slot with the route's counters, the registry entry and every
 * timer; and logs one debug line with both addresses and the cause. A cause is noted by whoever sees why the
 * connection ends (a timer, the connector, the relay through {@link RelayListener}); weak causes (a side's FIN or
 * close) give way to a later strong one, and between strong ones the first wins.
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
    private static final List<Class<?>> FROM_STAGING = List.of(Staging.class);
    private static final List<Class<?>> FROM_BEFORE_ADMISSION =
            List.of(Accepted.class, WaitingForSlot.class, Staging.class);

    private final RouteRuntime route;
    private final Channel frontend;
    private final ConnectionRegistry registry;
    private final Instant started = Instant.now();
    private volatile ConnectionState state = ACCEPTED;
    private CloseCause cause;
    private String detail;
    private Future<?> lifetime;
    private Future<?> progress;
    private Waiter waiter;
    private volatile String target; // a stage's choice among the route's named targets; null: its own backends
    private BackendGreeting greeting;
    // Timing facts for the metrics and the access log, on the event loop's ticker: primitives, no allocation.
    private final long acceptedNanos;
    private long waitSince;
    private long waitNanos;
    private long connectSince;
    private long connectNanos;
    private int attempts;
    private SocketAddress backendLocal;
    private Side closedFirst;

    /** Who ended the connection first, for the access log's {@code closedFirst}. */
    public enum Side {
        CLIENT,
        BACKEND,
        PROXY;

        private final String label = name().toLowerCase(Locale.ROOT);

        public String label() {
            return label;
        }
    }

    private boolean registered;
    private volatile InetSocketAddress client; // from a PROXY header; null: the TCP peer is the client
    private InetSocketAddress destination; // from a PROXY header; null: the listener's address
    private String serverName; // from TLS SNI, for a v2 PROXY header sent on; null: none known

    ProxiedConnection(RouteRuntime route, Channel frontend, ConnectionRegistry registry) {
        this.route = route;
        this.frontend = frontend;
        this.registry = registry;
        this.acceptedNanos = now();
        frontend.closeFuture().addListener(this);
    }

    /**
     * Accepted, unadmitted Staging or WaitingForSlot -> Closed: the gate denied or refused the client, or it could not
     * wait; or its TCP peer may not send the PROXY header its route requires.
     */
    void refuse(AdmissionGate.Verdict verdict) {
        if (!(state instanceof Accepted || state instanceof WaitingForSlot || unadmittedStage())) {
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

    /**
     * Accepted, before admission: the route reads the PROXY header first, so the gate judges the client it names
     * once it is read. The connection is listed (and its lifetime counted) from now.
     */
    void awaitHeader() {
        if (!(state instanceof Accepted)) {
            throw illegal("stage before admission");
        }
        registered();
    }

    /** Accepted or unadmitted Staging -> WaitingForSlot: a limit is reached in queue mode; the client waits unread. */
    void waitForSlot(long deadlineNanos) {
        move(new WaitingForSlot(deadlineNanos), unadmittedStage() ? FROM_STAGING : FROM_ACCEPTED);
        waitSince = now();
        registered();
    }

    /** Accepted, unadmitted Staging or WaitingForSlot -> Admitted: the gate counts this client now. */
    void admit() {
        if (state instanceof Staging s && s.admitted()) {
            throw illegal("admitted");
        }
        boolean waited = state instanceof WaitingForSlot;
        move(ADMITTED, FROM_BEFORE_ADMISSION);
        if (waited) {
            waitNanos += now() - waitSince;
        }
        route.metrics().accepted();
        registered();
    }

    private boolean unadmittedStage() {
        return state instanceof Staging s && !s.admitted();
    }

    private void registered() {
        if (registered) {
            return;
        }
        registered = true;
        registry.register(this);
        long maxLifetime = route.route().timeouts().maxLifetime().toNanos();
        if (maxLifetime > 0) {
            lifetime = frontend.eventLoop().schedule(this::lifetimeReached, maxLifetime, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Admitted or Staging -> Staging: a pre-relay stage starts reading the client, under its own deadline. From
     * Accepted (a route that reads the PROXY header before admission) -> Staging, not yet admitted.
     */
    @Override
    public void staging(String stage, Duration deadline, CloseCause onDeadline) {
        if (state instanceof Accepted) {
            move(new Staging(stage, false), FROM_ACCEPTED);
        } else {
            if (unadmittedStage()) {
                throw illegal("stage:" + stage + " before admission");
            }
            move(new Staging(stage), FROM_ADMITTED_OR_STAGING);
        }
        waiter().sleep(deadline.toNanos(), () -> close(onDeadline));
    }

    /** A stage chose the client's target, and what its backend must be told first; read by the connector. */
    @Override
    public void routeTo(String targetName, BackendGreeting backendGreeting) {
        this.target = targetName;
        this.greeting = backendGreeting;
    }

    /** The named target a stage chose, or null for the route's own backends. */
    @Override
    public String target() {
        return target;
    }

    /** What the backend must be told before the relay starts, or null. */
    BackendGreeting greeting() {
        return greeting;
    }

    @Override
    public void identified(InetSocketAddress source, InetSocketAddress destination) {
        this.client = requireNonNull(source, "source");
        this.destination = destination;
    }

    @Override
    public void serverNamed(String serverName) {
        this.serverName = requireNonNull(serverName, "serverName");
    }

    /** Admitted, Staging or WaitingForBackend -> Connecting: attempt {@code attempt} to {@code backend} (counted). */
    void connecting(Backend backend, int attempt, Channel attemptChannel) {
        long now = now();
        if (state instanceof WaitingForBackend) {
            waitNanos += now - waitSince;
        }
        connectSince = now;
        attempts++;
        move(new Connecting(backend, attempt, attemptChannel), FROM_READY_TO_CONNECT);
    }

    /** Admitted, Staging or WaitingForBackend -> WaitingForBackend: no backend to try now. */
    void waitForBackend(long deadlineNanos) {
        if (!(state instanceof WaitingForBackend)) {
            waitSince = now();
        }
        move(new WaitingForBackend(deadlineNanos), FROM_READY_TO_CONNECT);
    }

    /** Connecting -> Relaying: the backend accepted and both directions are handed to the relay. */
    void relaying(RelayHandler fromClient, RelayHandler fromBackend) {
        if (!(state instanceof Connecting c)) {
            throw illegal("relaying");
        }
        state = new Relaying(c.backend(), c.channel(), fromClient, fromBackend);
        connectNanos = now() - connectSince;
        backendLocal = c.channel().localAddress();
        route.metrics().backendConnected(c.backend().name(), connectNanos);
        AccessLogger accessLog = route.accessLog();
        if (accessLog != null) {
            if (accessLog.onConnect()) {
                accessLog.log(line("connect", null));
            }
            long every = accessLog.periodic().toNanos();
            if (every > 0) {
                progress = frontend.eventLoop()
                        .scheduleAtFixedRate(
                                () -> accessLog.log(line("progress", null)), every, every, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** An access log line of this connection as it is now; {@code cause} null until it closes. */
    private AccessLogLine line(String event, CloseCause why) {
        ConnectionState now = state;
        TlsSessionInfo tls = tls();
        return new AccessLogLine(
                event,
                started,
                TimeUnit.NANOSECONDS.toMillis(now() - acceptedNanos),
                route.name(),
                client(),
                listener(),
                now.backendAddress(),
                backendLocal,
                attempts,
                TimeUnit.NANOSECONDS.toMillis(waitNanos),
                TimeUnit.NANOSECONDS.toMillis(connectNanos),
                now.bytesFromClient(),
                now.bytesFromBackend(),
                now.bytesSpliced() > 0,
                why == null ? null : why.label(),
                why == null || closedFirst == null ? null : closedFirst.label(),
                frontend.remoteAddress(),
                tls == null ? serverName : tls.sni(),
                tls == null ? null : tls.protocol(),
                tls == null ? null : tls.cipher(),
                tls == null ? null : tls.clientSubject());
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

    /**
     * The client's socket failed (a reset, a broken pipe): noted as {@code client_reset} and closed as the relay closes
     * a failed side, without writing into it ({@link Channels#closeFailed}).
     */
    void clientFailed() {
        note(CloseCause.CLIENT_RESET);
        Channels.closeFailed(frontend);
    }

    /** Notes why the connection is ending, for when it closes; see the class javadoc for which cause wins. */
    void note(CloseCause why) {
        if (!(state instanceof Closed) && (cause == null || (cause.weak() && !why.weak()))) {
            cause = why;
        }
        if (closedFirst == null) {
            closedFirst = switch (why) {
                case CLIENT_CLOSE, CLIENT_RESET -> Side.CLIENT;
                case BACKEND_CLOSE, BACKEND_RESET -> Side.BACKEND;
                default -> Side.PROXY; // a timeout, a limit, the connector giving up, an operator
            };
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
        if (closedFirst == null) {
            closedFirst = "frontend".equals(side) ? Side.CLIENT : Side.BACKEND;
        }
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

    /**
     * The client channel closed: the close path runs now, or one task later on a relaying TLS connection that no
     * strong cause was noted for. Netty's {@code SslHandler} closes the channel inside its decode when the engine fails
     * (a refused renegotiation, a record that does not decrypt) and throws the error after, so it reaches the relay
     * later in this same turn; settling one task later lets its {@code tls_error} replace the close it caused. A plain
     * relay's error always comes before its close: its close path never waits.
     */
    @Override
    public void operationComplete(ChannelFuture closed) {
        if (state instanceof Relaying
                && (cause == null || cause.weak())
                && route.route().tls().isPresent()) {
            try {
                frontend.eventLoop().execute(this::settle);
                return;
            } catch (RejectedExecutionException shuttingDown) {
                // the loop takes no more tasks: settle now
            }
        }
        settle();
    }

    /** The close path. Runs once. */
    private void settle() {
        ConnectionState was = state;
        if (was instanceof Closed) {
            return;
        }
        CloseCause why = cause == null ? CloseCause.CLIENT_CLOSE : cause;
        if (closedFirst == null) {
            closedFirst = Side.CLIENT; // the client left before anyone noted a cause
        }
        state = new Closed(why, was);
        long closedNanos = now();
        if (was instanceof WaitingForSlot || was instanceof WaitingForBackend) {
            waitNanos += closedNanos - waitSince;
        }
        if (lifetime != null) {
            lifetime.cancel(false);
        }
        if (progress != null) {
            progress.cancel(false);
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
            route.metrics()
                    .closed(
                            why,
                            closedNanos - acceptedNanos,
                            waitNanos,
                            was instanceof Relaying ? backend.name() : null,
                            was.bytesFromClient(),
                            was.bytesFromBackend());
            route.gate().release(clientAddress());
        } else {
            route.metrics().ended(why);
        }
        registry.remove(this);
        AccessLogger accessLog = route.accessLog();
        if (accessLog != null) {
            accessLog.log(line("close", why));
        }
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

    private long now() {
        return frontend.eventLoop().ticker().nanoTime();
    }

    /** Nanoseconds spent waiting for a slot or a backend so far (complete once closed). */
    public long waitNanos() {
        return waitNanos;
    }

    /** Nanoseconds the successful backend connect took; 0 before relaying. */
    public long connectNanos() {
        return connectNanos;
    }

    /** Backend connects attempted so far, over every round of waiting. */
    public int attempts() {
        return attempts;
    }

    /** Strait's own address towards the backend once relaying, else null. */
    public SocketAddress backendLocal() {
        return backendLocal;
    }

    /** Who ended the connection first, once it is ending; null before. */
    public Side closedFirst() {
        return closedFirst;
    }

    /** When it was accepted, on the event loop's ticker. */
    public long acceptedNanos() {
        return acceptedNanos;
    }

    /** The client: the source a PROXY header named, else the TCP peer. */
    @Override
    public SocketAddress client() {
        InetSocketAddress identified = client;
        return identified != null ? identified : frontend.remoteAddress();
    }

    /** The address the client connected to: the PROXY header's destination, else the listener's. */
    SocketAddress destination() {
        return destination != null ? destination : frontend.localAddress();
    }

    /** The server name the client asked for (TLS SNI), for a v2 PROXY header sent on; empty until a stage reads it. */
    Optional<String> serverName() {
        return Optional.ofNullable(serverName);
    }

    /** The client for a log line: its address, and the TCP peer's when a PROXY header named another. */
    String describeClient() {
        return client == null
                ? String.valueOf(frontend.remoteAddress())
                : Listeners.format(client) + " via " + Listeners.format(frontend.remoteAddress());
    }

    InetAddress clientAddress() {
        return client() instanceof InetSocketAddress a ? a.getAddress() : InetAddress.getLoopbackAddress();
    }

    /** The TCP peer's address (the load balancer's, behind one). */
    InetAddress peerAddress() {
        return frontend.remoteAddress() instanceof InetSocketAddress a
                ? a.getAddress()
                : InetAddress.getLoopbackAddress();
    }
}
