package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.balance.LoadBalancer;
import dev.strait.config.Route;
import dev.strait.relay.RelayHandler;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteRuntime;
import dev.strait.server.route.RouteTarget;
import dev.strait.transport.ErrorText;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.Future;
import java.util.HashSet;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Gets one client a backend: waits for an admission slot if the gate said so, lets the route's pre-relay stages run,
 * then connects, retries, and waits again if it must, all under one deadline counted from accept
 * ({@code timeouts.queue}; 0: no wait).
 *
 * <p>The route's balancer picks a backend; if the connect fails, another is tried, up to {@code retries} more, each
 * within {@code timeouts.connect} — safe because not one client byte has been forwarded yet. When nothing can be
 * tried, the client waits ({@link Waiter}): woken when a slot is released, a backend comes up or a capped backend has
 * room, or after {@value #RETRY_MILLIS}ms when a backend believed up refused (only a connect can tell that it is
 * back). At the deadline the client is given up on, with one warning naming every cause, and closed with
 * {@code no_backend}, {@code connect_refused} or {@code connect_timeout}; a client still waiting for a slot is closed
 * with {@code limit}.
 *
 * <p>Thread model: the client's event loop only; the backend channel is registered on it too.
 */
final class BackendConnector {
    static final long RETRY_MILLIS = 100;
    private static final Logger log = LogManager.getLogger(BackendConnector.class);

    private final RouteRuntime route;
    private final ProxiedConnection connection;
    private final BackendDialer dialer;
    private final long deadlineNanos;
    private final FrontendHandler handler;
    private final Channel frontend;
    private Set<Backend> tried = Set.of(); // a HashSet from the first failure: none on the fast path
    private StringJoiner failures;
    private Throwable lastFailure;
    private int attempts;
    private BackendPool pool; // the route's own backends, or the target a stage chose
    private LoadBalancer balancer;
    private int retries;

    BackendConnector(
            RouteRuntime route,
            ProxiedConnection connection,
            BackendDialer dialer,
            long deadlineNanos,
            FrontendHandler handler,
            Channel frontend) {
        this.route = route;
        this.connection = connection;
        this.dialer = dialer;
        this.deadlineNanos = deadlineNanos;
        this.handler = handler;
        this.frontend = frontend;
        this.pool = route.pool();
        this.balancer = route.balancer();
        this.retries = route.route().retries();
    }

    /**
     * Starts: asks for a slot if the client waits for one; on a route that reads the PROXY header before admission,
     * lets that stage run first (its hand-over calls {@link #identified}); else goes on as admitted.
     */
    void start() {
        ConnectionState state = connection.state();
        if (state instanceof ConnectionState.WaitingForSlot) {
            askForSlot();
        } else if (state instanceof ConnectionState.Accepted) {
            handler.runStages();
        } else {
            admitted();
        }
    }

    /** The PROXY header named the client: the admission gate judges it now, as it judges others at accept. */
    void identified() {
        AdmissionGate.Verdict verdict = route.gate().admit(connection.clientAddress());
        if (verdict.outcome() == AdmissionGate.Outcome.ADMITTED) {
            connection.admit();
            admitted();
        } else if (verdict.outcome() == AdmissionGate.Outcome.WAIT && now() - deadlineNanos < 0) {
            connection.waitForSlot(deadlineNanos);
            askForSlot();
        } else {
            connection.refuse(verdict);
        }
    }

    /** Admitted: the route's stages run first (the last one's hand-over calls {@link #connect}), else connect now. */
    private void admitted() {
        if (route.stages().isEmpty()) {
            connectNext();
        } else {
            handler.runStages();
        }
    }

    /** The last pre-relay stage handed over: connect, to the target a stage chose if one did. */
    void connect() {
        String name = connection.target();
        RouteTarget target = name == null ? null : route.target(name);
        if (target != null) {
            pool = target.pool();
            balancer = target.balancer();
            retries = target.retries();
        }
        connectNext();
    }

    /** Asks the gate again, having joined the wait list first so that a slot released meanwhile is not missed. */
    private void askForSlot() {
        Waiter waiter = connection.waiter();
        waiter.await(deadlineNanos - now(), this::askForSlot);
        AdmissionGate.Verdict verdict = route.gate().admit(connection.clientAddress());
        if (verdict.outcome() == AdmissionGate.Outcome.WAIT && now() - deadlineNanos < 0) {
            return; // wait on
        }
        waiter.stop();
        if (verdict.outcome() == AdmissionGate.Outcome.ADMITTED) {
            connection.admit();
            admitted();
        } else {
            connection.refuse(verdict);
        }
    }

    private void connectNext() {
        if (connection.state() instanceof ConnectionState.Closed) {
            return;
        }
        Route config = route.route();
        Backend target = attempts > retries ? null : balancer.pick(connection.clientAddress(), pool.current(), tried);
        if (target == null) {
            waitForBackend();
            return;
        }
        if (!target.tryConnectionStarted()) {
            skip(target); // it reached its cap since the pick: try another, without spending a retry
            connectNext();
            return;
        }
        attempts++;
        RelayHandler fromBackend = new RelayHandler(
                frontend,
                "backend",
                config.timeouts().serverFin(),
                route.spliceAfter(),
                handler::spliceFallback,
                connection);
        ChannelFuture connecting = dialer.dial(route, frontend, target, fromBackend);
        connection.connecting(target, attempts, connecting.channel());
        connecting.addListener((ChannelFuture f) -> {
            if (frontend.eventLoop().inEventLoop()) {
                connected(f, target);
            } else {
                // A channel that could not even be made (socket() failed: EMFILE) reports on Netty's global executor.
                frontend.eventLoop().execute(() -> connected(f, target));
            }
        });
    }

    private void connected(ChannelFuture f, Backend target) {
        if (connection.state() instanceof ConnectionState.Closed) {
            return; // the client left meanwhile: the close path abandoned the attempt and released the backend
        }
        if (f.isSuccess()) {
            pool.connectSucceeded(target);
            BackendGreeting greeting = connection.greeting();
            if (greeting == null) {
                handler.relay(f.channel());
            } else {
                Channel backend = f.channel();
                BackendGreeter.greet(backend, greeting, route.route().timeouts().connect())
                        .addListener(answered -> greeted(backend, answered));
            }
            return;
        }
        if (f.cause() instanceof BackendGreeter.Rejected rejected) {
            // A PostgreSQL backend that will not speak TLS (ssl=off) is misconfigured: worth a line even if another
            // backend serves this client.
            log.warn(
                    "frontend {} -> backend {} (route {}): the backend {}; trying another if any",
                    connection.describeClient(),
                    target,
                    route.name(),
                    rejected.getMessage());
        }
        connection.attemptFailed();
        route.metrics().backendConnectFailed(target.name());
        pool.connectFailed(target, f.cause());
        skip(target);
        lastFailure = f.cause();
        if (failures == null) {
            failures = new StringJoiner("; ");
        }
        failures.add(target + ": " + describe(f.cause()));
        connectNext();
    }

    /** The backend answered Strait's greeting (PostgreSQL's SSLRequest, the client's answered by a stage). */
    private void greeted(Channel backend, Future<?> answered) {
        if (connection.state() instanceof ConnectionState.Closed) {
            return;
        }
        if (answered.isSuccess()) {
            handler.relay(backend);
            return;
        }
        log.warn(
                "frontend {} -> backend {} (route {}): the backend {}; closing client",
                connection.frontend().remoteAddress(),
                backend.remoteAddress(),
                connection.route(),
                answered.cause().getMessage());
        connection.close(CloseCause.BACKEND_REJECTED);
    }

    /**
     * Nothing to try now: wait under the deadline. A backend believed up that refused is retried after a pause; one
     * down or at its cap is waited for, and the event that makes it available wakes this client.
     */
    private void waitForBackend() {
        long left = deadlineNanos - now();
        if (left <= 0) {
            giveUp();
            return;
        }
        connection.waitForBackend(deadlineNanos);
        Waiter waiter = connection.waiter();
        waiter.await(left, this::newRound);
        for (Backend b : pool.current()) { // checked after joining the list: no event is missed
            if (b.available()) {
                waiter.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS)), this::newRound);
                return;
            }
        }
    }

    /** Woken: every backend may be tried again, with a fresh retry budget, unless the deadline has passed. */
    private void newRound() {
        if (now() - deadlineNanos >= 0) {
            giveUp();
            return;
        }
        tried = Set.of();
        attempts = 0;
        lastFailure = null;
        connectNext();
    }

    private void giveUp() {
        route.metrics().noBackend();
        log.warn(
                "frontend {} -> route {}: no backend accepted ({}); closing client",
                connection.describeClient(),
                route.name(),
                failures == null ? "no backend available" : failures);
        connection.note(
                lastFailure == null
                        ? CloseCause.NO_BACKEND
                        : lastFailure instanceof ConnectTimeoutException
                                ? CloseCause.CONNECT_TIMEOUT
                                : lastFailure instanceof SSLException
                                        ? CloseCause.TLS_ERROR
                                        : lastFailure instanceof BackendGreeter.Rejected
                                                ? CloseCause.BACKEND_REJECTED
                                                : CloseCause.CONNECT_REFUSED);
        handler.closeUnserved();
    }

    private void skip(Backend backend) {
        if (!(tried instanceof HashSet)) {
            tried = new HashSet<>(4);
        }
        tried.add(backend);
    }

    private long now() {
        return frontend.eventLoop().ticker().nanoTime();
    }

    private static String describe(Throwable cause) {
        return ErrorText.of(cause);
    }
}
