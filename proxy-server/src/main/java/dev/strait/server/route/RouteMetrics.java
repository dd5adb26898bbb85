package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.tls.ServerTls;
import dev.strait.transport.ErrorText;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.io.IOException;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.logging.log4j.LogManager;

/**
 * One route's series of the server's {@link ProxyMetrics} families, their data points looked up once (per backend on
 * first use), so that counting a connection allocates nothing. The two that count storms (splice fallbacks and failed
 * accepts, both when descriptors run out) also warn, at most once per 10s each, so the log says what the counter
 * shows without a line per event. Kept across reloads with the route. Thread-safe.
 */
public final class RouteMetrics {
    private static final double NANOS_PER_SECOND = 1e9;

    private final ProxyMetrics families;
    private final String route;
    private final CounterDataPoint accepted;
    private final AtomicLong active = new AtomicLong();
    private final CounterDataPoint[] closedByCause = new CounterDataPoint[CloseCause.values().length];
    private final CounterDataPoint noBackend;
    private final CounterDataPoint denied;
    private final CounterDataPoint refused;
    private final CounterDataPoint spliceFallbacks;
    private final CounterDataPoint acceptErrors;
    private final DistributionDataPoint waitSeconds;
    private final DistributionDataPoint durationSeconds;
    private final LongAdder backendConnectFailures = new LongAdder();
    private final Map<String, BackendSeries> backends = new ConcurrentHashMap<>();
    private final ConcurrentMap<SniOutcome, LongAdder> sniRouted = new ConcurrentHashMap<>();
    private final AtomicLong reportedFromClient = new AtomicLong();
    private final AtomicLong reportedFromBackend = new AtomicLong();
    private final Map<String, LongAdder> proxyProtocolErrors = new ConcurrentHashMap<>();
    private final LongAdder tlsHandshakeFailures = new LongAdder();
    private final LongAdder tlsHandshakeTimeouts = new LongAdder();
    private final LongAdder tlsReloadFailures = new LongAdder();
    private volatile ServerTls serving;
    private final RateLimitedWarning acceptErrorWarning =
            new RateLimitedWarning(LogManager.getLogger(RouteMetrics.class), Duration.ofSeconds(10));
    private final RateLimitedWarning spliceFallbackWarning =
            new RateLimitedWarning(LogManager.getLogger(RouteMetrics.class), Duration.ofSeconds(10));

    public RouteMetrics(ProxyMetrics families, String route) {
        this.families = requireNonNull(families, "families");
        this.route = requireNonNull(route, "route");
        accepted = families.accepted().labelValues(route);
        for (CloseCause cause : CloseCause.values()) {
            closedByCause[cause.ordinal()] = families.closed().labelValues(route, cause.label());
        }
        noBackend = families.noBackend().labelValues(route);
        denied = families.denied().labelValues(route);
        refused = families.refused().labelValues(route);
        spliceFallbacks = families.spliceFallbacks().labelValues(route);
        acceptErrors = families.acceptErrors().labelValues(route);
        waitSeconds = families.waitSeconds().labelValues(route);
        durationSeconds = families.durationSeconds().labelValues(route);
    }

    /** One backend's series of this route: connect time, connect failures and the bytes of closed connections. */
    public static final class BackendSeries {
        private final CounterDataPoint connectFailures;
        private final DistributionDataPoint connectSeconds;
        private final LongAdder bytesFromClient = new LongAdder();
        private final LongAdder bytesFromBackend = new LongAdder();
        private final AtomicLong reportedFromClient = new AtomicLong();
        private final AtomicLong reportedFromBackend = new AtomicLong();

        private BackendSeries(ProxyMetrics families, String route, String backend) {
            connectFailures = families.connectFailures().labelValues(route, backend);
            connectSeconds = families.connectSeconds().labelValues(route, backend);
        }

        /**
         * Bytes relayed client to backend so far: by closed connections, plus {@code open} from those still open.
         * Never lower than a value returned before: a connection closing while the caller summed the open ones could
         * otherwise make the counter dip, which Prometheus would read as a reset.
         */
        public long bytesFromClientSoFar(long open) {
            return reportedFromClient.accumulateAndGet(bytesFromClient.sum() + open, Math::max);
        }

        /** As {@link #bytesFromClientSoFar}, backend to client. */
        public long bytesFromBackendSoFar(long open) {
            return reportedFromBackend.accumulateAndGet(bytesFromBackend.sum() + open, Math::max);
        }
    }

    private BackendSeries backend(String name) {
        BackendSeries series = backends.get(name);
        return series != null ? series : backends.computeIfAbsent(name, b -> new BackendSeries(families, route, b));
    }

    /** Every backend this route has tried, by name: for the byte counters, which include live connections. */
    public Map<String, BackendSeries> backends() {
        return backends;
    }

    /** A client's TLS handshake failed ({@code tls_error}). */
    public void tlsHandshakeFailed() {
        tlsHandshakeFailures.increment();
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

    /**
     * Clients closed with {@code tls_handshake_timeout}: counted by {@link #closed} from the cause itself, so the two
     * always agree (the TLS stage's deadline, and on a {@code protocol: postgres} route the preamble's before it).
     */
    public long tlsHandshakeTimeoutsTotal() {
        return tlsHandshakeTimeouts.sum();
    }

    public long tlsReloadFailuresTotal() {
        return tlsReloadFailures.sum();
    }

    public void accepted() {
        accepted.inc();
        active.incrementAndGet();
    }

    /**
     * A counted connection ended: why, after how long, how long it waited, and what it relayed through {@code backend}
     * (null if it never had one).
     */
    public void closed(
            CloseCause cause, long durationNanos, long waitNanos, String backend, long fromClient, long fromBackend) {
        active.decrementAndGet();
        ended(cause);
        durationSeconds.observe(durationNanos / NANOS_PER_SECOND);
        waitSeconds.observe(waitNanos / NANOS_PER_SECOND);
        if (backend != null) {
            BackendSeries series = backend(backend);
            series.bytesFromClient.add(fromClient);
            series.bytesFromBackend.add(fromBackend);
        }
    }

    /** A client that was never counted (denied, refused) ended: only its cause is counted. */
    public void ended(CloseCause cause) {
        closedByCause[cause.ordinal()].inc();
        if (cause == CloseCause.TLS_HANDSHAKE_TIMEOUT) {
            tlsHandshakeTimeouts.increment();
        }
    }

    /** A connect to {@code backend} succeeded after {@code nanos}. */
    public void backendConnected(String backend, long nanos) {
        backend(backend).connectSeconds.observe(nanos / NANOS_PER_SECOND);
    }

    public void backendConnectFailed(String backend) {
        backendConnectFailures.increment();
        backend(backend).connectFailures.inc();
    }

    public void noBackend() {
        noBackend.inc();
    }

    public void denied() {
        denied.inc();
    }

    public void refused() {
        refused.inc();
    }

    /** A PROXY protocol header was refused for {@code reason} (a short label: {@code bad_signature}, ...). */
    public void proxyProtocolError(String reason) {
        proxyProtocolErrors.computeIfAbsent(reason, r -> new LongAdder()).increment();
    }

    /** PROXY protocol headers refused so far, by reason, sorted. */
    public Map<String, Long> proxyProtocolErrorsTotal() {
        Map<String, Long> out = new TreeMap<>();
        proxyProtocolErrors.forEach((reason, n) -> out.put(reason, n.sum()));
        return out;
    }

    /**
     * A direction of this route wanted to splice but could get no pipe (descriptors ran out) and keeps copying:
     * counted, and warned about at most once per 10s.
     */
    public void spliceFallback(String route, IOException cause) {
        spliceFallbacks.inc();
        spliceFallbackWarning.warn(
                "route " + route + ": no pipe for splice (" + ErrorText.of(cause) + "); the connection keeps copying");
    }

    /**
     * A listener of this route failed to accept (descriptors ran out, typically) and pauses: counted, and warned about
     * at most once per 10s.
     */
    public void acceptFailed(String route, Throwable cause, long pauseMillis) {
        acceptErrors.inc();
        acceptErrorWarning.warn("route " + route + ": cannot accept new connections (" + ErrorText.of(cause)
                + "); pausing that listener for " + pauseMillis + "ms, clients wait in the backlog");
    }

    /** Failed accepts on this route's listeners. */
    public long acceptErrorsTotal() {
        return acceptErrors.getLongValue();
    }

    /** Directions that kept copying because no pipe could be had for splice. */
    public long spliceFallbacksTotal() {
        return spliceFallbacks.getLongValue();
    }

    /** Clients closed by the allow/deny lists. */
    public long deniedTotal() {
        return denied.getLongValue();
    }

    /** Clients closed by a connection or rate limit. */
    public long refusedTotal() {
        return refused.getLongValue();
    }

    public long acceptedTotal() {
        return accepted.getLongValue();
    }

    public long active() {
        return active.get();
    }

    /** Failed backend connects, over all backends. */
    public long backendConnectFailuresTotal() {
        return backendConnectFailures.sum();
    }

    public long noBackendTotal() {
        return noBackend.getLongValue();
    }

    /** Connections that ended with {@code cause}. */
    public long closedTotal(CloseCause cause) {
        return closedByCause[cause.ordinal()].getLongValue();
    }

    /** Bytes relayed client to backend by connections that have closed. */
    public long bytesFromClientTotal() {
        return backends.values().stream()
                .mapToLong(b -> b.bytesFromClient.sum())
                .sum();
    }

    /** Bytes relayed backend to client by connections that have closed. */
    public long bytesFromBackendTotal() {
        return backends.values().stream()
                .mapToLong(b -> b.bytesFromBackend.sum())
                .sum();
    }

    /**
     * Bytes relayed client to backend by this route so far: closed connections plus {@code open} from those still
     * open; never lower than a value returned before (a connection closing between the two reads would make it dip).
     */
    public long bytesFromClientSoFar(long open) {
        return reportedFromClient.accumulateAndGet(bytesFromClientTotal() + open, Math::max);
    }

    /** As {@link #bytesFromClientSoFar}, backend to client. */
    public long bytesFromBackendSoFar(long open) {
        return reportedFromBackend.accumulateAndGet(bytesFromBackendTotal() + open, Math::max);
    }

    /** Where an SNI route's stage sent a client: a target's name, {@code default} or {@code none} (closed), and why. */
    public record SniOutcome(String target, String result) {}

    /** An SNI route's stage sent a client to {@code target} for {@code result} ({@code matched}, {@code no_sni}...). */
    public void sniRouted(String target, String result) {
        sniRouted
                .computeIfAbsent(new SniOutcome(target, result), k -> new LongAdder())
                .increment();
    }

    /** Clients routed by the SNI stage so far, by target and result. */
    public Map<SniOutcome, Long> sniRoutedTotals() {
        Map<SniOutcome, Long> totals =
                new TreeMap<>(Comparator.comparing(SniOutcome::target).thenComparing(SniOutcome::result));
        sniRouted.forEach((k, v) -> totals.put(k, v.sum()));
        return totals;
    }
}
