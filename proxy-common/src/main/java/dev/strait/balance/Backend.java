package dev.strait.balance;

import static java.util.Objects.requireNonNull;

import dev.strait.config.ProxyHeaderVersion;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One backend address as the balancer sees it: where it is, its weight and connection cap, whether it is a backup,
 * whether it is healthy now (and what the last active probe saw), whether an operator drained it, and how many proxied
 * connections it holds.
 *
 * <p>Drain is separate from health: a drained backend takes no new connections whatever its checks say, its live
 * connections run on, and health checks keep probing it, so that it comes back with its true health when enabled.
 *
 * <p>Thread-safe: the connection count and health are updated from any event loop and the health checker.
 *
 * @see LoadBalancer
 */
public final class Backend {
    private final String name;
    private final InetSocketAddress address;
    private final int weight;
    private final int maxConnections;
    private final boolean backup;
    private final ProxyHeaderVersion sendProxyProtocol;
    private final AtomicInteger active = new AtomicInteger();
    private volatile boolean healthy = true;
    private volatile boolean drained;
    private volatile long coolOffEndsNanos = System.nanoTime();
    private volatile CheckResult lastCheck;

    /**
     * @param name how logs name it: the configured {@code host:port}, plus the resolved IP when a name resolved
     * @param address where to connect (resolved, or unresolved for the connect-time resolver)
     * @param weight relative share of new connections, 1 to 256
     * @param maxConnections cap on live connections to this backend; 0 means no cap
     * @param backup used only when no primary backend is available
     */
    public Backend(String name, InetSocketAddress address, int weight, int maxConnections, boolean backup) {
        this(name, address, weight, maxConnections, backup, ProxyHeaderVersion.OFF);
    }

    /** As above, for a backend that gets a PROXY protocol header first on each connection (and health check). */
    public Backend(
            String name,
            InetSocketAddress address,
            int weight,
            int maxConnections,
            boolean backup,
            ProxyHeaderVersion sendProxyProtocol) {
        this.sendProxyProtocol = requireNonNull(sendProxyProtocol, "sendProxyProtocol");
        this.name = requireNonNull(name, "name");
        this.address = requireNonNull(address, "address");
        if (weight < 1 || weight > 256) {
            throw new IllegalArgumentException("weight must be 1-256: " + weight);
        }
        if (maxConnections < 0) {
            throw new IllegalArgumentException("maxConnections must be >= 0: " + maxConnections);
        }
        this.weight = weight;
        this.maxConnections = maxConnections;
        this.backup = backup;
    }

    public String name() {
        return name;
    }

    public InetSocketAddress address() {
        return address;
    }

    public int weight() {
        return weight;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public boolean backup() {
        return backup;
    }

    /** The PROXY protocol header written first on each connection to it ({@code OFF}: none). */
    public ProxyHeaderVersion sendProxyProtocol() {
        return sendProxyProtocol;
    }

    public boolean healthy() {
        return healthy;
    }

    /** Sets health; returns true when this changed it. */
    public boolean setHealthy(boolean value) {
        boolean was = healthy;
        healthy = value;
        return was != value;
    }

    /** The last active probe's result, or empty before the first one ends (or without active checks). */
    public Optional<CheckResult> lastCheck() {
        return Optional.ofNullable(lastCheck);
    }

    /** Records an active probe's result; health itself changes only through {@link #setHealthy}. */
    public void recordCheck(CheckResult result) {
        lastCheck = requireNonNull(result, "result");
    }

    /** Takes the backend out until {@code nanos} (a {@link System#nanoTime()} value), for passive health. */
    public void coolOffUntil(long nanos) {
        coolOffEndsNanos = nanos;
        healthy = false;
    }

    /** Whether a passive cool-off is still running. */
    public boolean coolingOff() {
        return System.nanoTime() - coolOffEndsNanos < 0;
    }

    /** Live proxied connections to this backend. */
    public int activeConnections() {
        return active.get();
    }

    /** Whether an operator drained it: it takes no new connections until enabled again. */
    public boolean drained() {
        return drained;
    }

    /** Drains ({@code true}) or enables ({@code false}) the backend; returns true when this changed it. */
    public boolean setDrained(boolean value) {
        boolean was = drained;
        drained = value;
        return was != value;
    }

    /** Healthy, not drained and below its connection cap: may take a new connection. */
    public boolean available() {
        return healthy && !drained && (maxConnections == 0 || active.get() < maxConnections);
    }

    /**
     * Counts a connection that is starting if the backend is below its cap, atomically, so concurrent event loops
     * cannot overshoot {@code maxConnections}; pair a {@code true} result with {@link #connectionEnded()}.
     */
    public boolean tryConnectionStarted() {
        while (true) {
            int now = active.get();
            if (maxConnections > 0 && now >= maxConnections) {
                return false;
            }
            if (active.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    /** Counts a connection that is starting; pair every call with {@link #connectionEnded()}. */
    public void connectionStarted() {
        active.incrementAndGet();
    }

    /** Counts a connection that ended; returns how many are left. */
    public int connectionEnded() {
        return active.decrementAndGet();
    }

    @Override
    public String toString() {
        return name;
    }
}
