package dev.strait.server;

import dev.strait.server.backend.HealthChecker;
import dev.strait.server.connection.RouteRuntime;
import io.netty.channel.Channel;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A bound route: its listener channel, the runtime its new connections use (swapped by a reload) and its health
 * checker. Owned by {@link ProxyServer}.
 */
final class RouteListener {
    private final AtomicReference<RouteRuntime> runtime;
    private volatile Channel channel;
    private volatile Optional<HealthChecker> checker;

    RouteListener(RouteRuntime runtime, Optional<HealthChecker> checker) {
        this.runtime = new AtomicReference<>(runtime);
        this.checker = checker;
    }

    RouteRuntime runtime() {
        return runtime.get();
    }

    Channel channel() {
        return channel;
    }

    void bound(Channel listener) {
        this.channel = listener;
        runtime.get().gate().attach(listener);
    }

    /** Swaps in a new runtime for new connections; returns the old one. */
    RouteRuntime swap(RouteRuntime next, Optional<HealthChecker> nextChecker) {
        next.gate().attach(channel);
        checker.ifPresent(HealthChecker::close);
        checker = nextChecker;
        return runtime.getAndSet(next);
    }

    /** Stops the health checker and the name watches; the listener is closed by the caller. */
    void stopBackgroundWork() {
        checker.ifPresent(HealthChecker::close);
        runtime.get().pool().close();
    }
}
