package dev.strait.server.route;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters for one route, exported by the admin endpoint. Thread-safe. */
public final class RouteMetrics {
    private final LongAdder accepted = new LongAdder();
    private final AtomicLong active = new AtomicLong();
    private final LongAdder backendConnectFailures = new LongAdder();
    private final LongAdder noBackend = new LongAdder();
    private final LongAdder denied = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder bytesFromClient = new LongAdder();
    private final LongAdder bytesFromBackend = new LongAdder();

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

    /** Bytes relayed client to backend by connections that have closed. */
    public long bytesFromClientTotal() {
        return bytesFromClient.sum();
    }

    /** Bytes relayed backend to client by connections that have closed. */
    public long bytesFromBackendTotal() {
        return bytesFromBackend.sum();
    }
}
