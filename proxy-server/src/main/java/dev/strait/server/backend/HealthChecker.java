package dev.strait.server.backend;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.balance.CheckResult;
import dev.strait.config.HealthCheck;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.server.probe.Probe;
import dev.strait.server.probe.Verdict;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.transport.Transport;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Probes every backend of a pool on a timer with a {@link Probe} (what a probe says is the probe's business) and
 * counts the verdicts: {@code fall} failures in a row take a backend down, {@code rise} successes bring it back; each
 * change is logged once, and every verdict is kept on the backend for the admin endpoint.
 *
 * <p>Thread model: everything runs on one event loop, so the per-backend counters need no locks.
 */
public final class HealthChecker implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(HealthChecker.class);

    private final BackendTlsContexts tls;
    private final boolean sslRequestFirst;
    private final String route;
    private final HealthCheck check;
    private final BackendPool pool;
    private final EventLoop loop;
    private final Probe probe;
    private final Consumer<Backend> onDown;
    private final Map<Backend, int[]> streaks = new HashMap<>(); // [successes in a row, failures in a row]
    private ScheduledFuture<?> timer;
    private volatile boolean closed;

    /**
     * @param onDown called when a backend goes down (to close its connections when the check says so)
     * @param tls the route's {@code backendTls}: backends that speak TLS are probed through TLS with its settings
     * @param sslRequestFirst a {@code protocol: postgres} route: a TLS probe asks with PostgreSQL's SSLRequest before
     *     its handshake, as the route's connections do
     */
    public HealthChecker(
            String route,
            HealthCheck check,
            BackendPool pool,
            EventLoop loop,
            Transport transport,
            Consumer<Backend> onDown,
            BackendTlsContexts tls,
            boolean sslRequestFirst) {
        this.sslRequestFirst = sslRequestFirst;
        this.tls = requireNonNull(tls, "tls");
        this.route = requireNonNull(route, "route");
        this.check = requireNonNull(check, "check");
        this.pool = requireNonNull(pool, "pool");
        this.loop = requireNonNull(loop, "loop");
        this.onDown = requireNonNull(onDown, "onDown");
        this.probe = new Probe(check, loop, transport.socketChannel());
    }

    /** Starts probing: the first round at once, then every interval. */
    public HealthChecker start() {
        timer = loop.scheduleAtFixedRate(this::round, 0, check.interval().toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void round() {
        for (Backend backend : pool.current()) {
            boolean proxyHeader = backend.sendProxyProtocol() != ProxyHeaderVersion.OFF;
            probe.run(backend.address(), proxyHeader, tls.forBackend(backend.name()), sslRequestFirst)
                    .addListener(f -> record(backend, (Verdict) f.getNow()));
        }
        streaks.keySet().retainAll(pool.current());
    }

    private void record(Backend backend, Verdict verdict) {
        if (closed || !pool.current().contains(backend)) {
            return;
        }
        backend.recordCheck(new CheckResult(verdict.up(), verdict.reason(), Instant.now()));
        int[] streak = streaks.computeIfAbsent(backend, b -> new int[2]);
        if (verdict.up()) {
            streak[0]++;
            streak[1] = 0;
            if (!backend.healthy() && streak[0] >= check.rise() && pool.markHealthy(backend)) {
                log.info("route {}: backend {} is UP after {} good checks", route, backend, streak[0]);
            }
        } else {
            streak[1]++;
            streak[0] = 0;
            if (backend.healthy() && streak[1] >= check.fall() && backend.setHealthy(false)) {
                log.warn(
                        "route {}: backend {} is DOWN after {} failed checks ({})",
                        route,
                        backend,
                        streak[1],
                        verdict.reason());
                if (check.closeOnDown()) {
                    onDown.accept(backend);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }
}
