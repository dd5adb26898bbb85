package dev.strait.server.route;

import dev.strait.server.tls.ServerTls;
import dev.strait.transport.ErrorText;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.logging.log4j.LogManager;

/**
 * Counters for one route, exported by the admin endpoint. The two that count storms (splice fallbacks and failed
 * accepts, both when descriptors run out) also warn, at most once per 10s each, so the log says what the counter
 * shows without a line per event. Kept across reloads with the route. Thread-safe.
 */
public final class RouteMetrics {
    private final LongAdder accepted = new LongAdder();
    private final AtomicLong active = new AtomicLong();
    private final LongAdder backendConnectFailures = new LongAdder();
    private final LongAdder noBackend = new LongAdder();
    private final LongAdder denied = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder bytesFromClient = new LongAdder();
    private final LongAdder bytesFromBackend = new LongAdder();
    private final LongAdder spliceFallbacks = new LongAdder();
    private final AtomicLong reportedFromClient = new AtomicLong();
    private final AtomicLong reportedFromBackend = new AtomicLong();
    private final LongAdder acceptErrors = new LongAdder();
    private final LongAdder tlsHandshakeFailures = new LongAdder();
    private final LongAdder tlsHandshakeTimeouts = new LongAdder();
    private final LongAdder tlsReloadFailures = new LongAdder();
    private volatile ServerTls serving;
    private final RateLimitedWarning acceptErrorWarning =
            new RateLimitedWarning(LogManager.getLogger(RouteMetrics.class), Duration.ofSeconds(10));
    private final RateLimitedWarning spliceFallbackWarning =
            new RateLimitedWarning(LogManager.getLogger(RouteMetrics.class), Duration.ofSeconds(10));

    /** A client's TLS handshake failed ({@code tls_error}). */
    public void tlsHandshakeFailed() {
        tlsHandshakeFailures.increment();
    }

    /** A client did not finish its TLS handshake in time ({@code tls_handshake_timeout}). */
    public void tlsHandshakeTimedOut() {
        tlsHandshakeTimeouts.increment();
    }

    /** Changed certificate files could not be loaded; the previous ones stay. */
    public void tlsReloadFailed() {
        tlsReloadFailures.increment();
    }

    /** The terminating side's certificates, for their expiry; null when the route does not terminate TLS. */
    public void serving(ServerTls tls) {
        serving = tls;
    }

    public ServerTls serving() {
        return serving;
    }

    public long tlsHandshakeFailuresTotal() {
        return tlsHandshakeFailures.sum();
    }

    public long tlsHandshakeTimeoutsTotal() {
        return tlsHandshakeTimeouts.sum();
    }

    public long tlsReloadFailuresTotal() {
        return tlsReloadFailures.sum();
    }

    public void accepted() {
        accepted.increment();
        active.incrementAndGet();
    }

    /** A counted connection ended, having relayed these bytes. */
    public void closed(long fromClient, long fromBackend) {
        active.decrementAndGet();
        bytesFromClient.add(fromClient);
        bytesFromBackend.add(fromBackend);
    }

    public void backendConnectFailed() {
        backendConnectFailures.increment();
    }

    public void noBackend() {
        noBackend.increment();
    }

    public void denied() {
        denied.increment();
    }

    public void refused() {
        refused.increment();
    }

    /**
     * A direction of this route wanted to splice but could get no pipe (descriptors ran out) and keeps copying:
     * counted, and warned about at most once per 10s.
     */
    public void spliceFallback(String route, IOException cause) {
        spliceFallbacks.increment();
        spliceFallbackWarning.warn(
                "route " + route + ": no pipe for splice (" + ErrorText.of(cause) + "); the connection keeps copying");
    }

    /**
     * A listener of this route failed to accept (descriptors ran out, typically) and pauses: counted, and warned about
     * at most once per 10s.
     */
    public void acceptFailed(String route, Throwable cause, long pauseMillis) {
        acceptErrors.increment();
        acceptErrorWarning.warn("route " + route + ": cannot accept new connections (" + ErrorText.of(cause)
                + "); pausing that listener for " + pauseMillis + "ms, clients wait in the backlog");
    }

    /** Failed accepts on this route's listeners. */
    public long acceptErrorsTotal() {
        return acceptErrors.sum();
    }

    /** Directions that kept copying because no pipe could be had for splice. */
    public long spliceFallbacksTotal() {
        return spliceFallbacks.sum();
    }

    /** Clients closed by the allow/deny lists. */
    public long deniedTotal() {
        return denied.sum();
    }

    /** Clients closed by a connection or rate limit. */
    public long refusedTotal() {
        return refused.sum();
    }

    public long acceptedTotal() {
        return accepted.sum();
    }

    public long active() {
        return active.get();
    }

    public long backendConnectFailuresTotal() {
        return backendConnectFailures.sum();
    }

    public long noBackendTotal() {
        return noBackend.sum();
    }

    /**
     * Bytes relayed client to backend so far: by closed connections, plus {@code open} from those still open. Never
     * lower than a value returned before: a connection closing while the caller summed the open ones could otherwise
     * make the counter dip, which Prometheus would read as a reset.
     */
    public long bytesFromClientSoFar(long open) {
        return reportedFromClient.accumulateAndGet(bytesFromClient.sum() + open, Math::max);
    }

    /** As {@link #bytesFromClientSoFar}, backend to client. */
    public long bytesFromBackendSoFar(long open) {
        return reportedFromBackend.accumulateAndGet(bytesFromBackend.sum() + open, Math::max);
    }

    /** Bytes relayed client to backend by connections that have closed. */
    public long bytesFromClientTotal() {
        return bytesFromClient.sum();
    }

    /** Bytes relayed backend to client by connections that have closed. */
    public long bytesFromBackendTotal() {
        return bytesFromBackend.sum();
    }
}
