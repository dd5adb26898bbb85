package dev.strait.server;

import dev.strait.server.backend.BackendPool;
import dev.strait.server.backend.HealthChecker;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A bound route: its listener channel, the runtime its new connections use (swapped by a reload) and its health
 * checker. Owned by {@link RouteTable}.
 */
final class RouteListener {
    private final AtomicReference<RouteRuntime> runtime;
    private volatile List<Channel> channels = List.of();
    private volatile List<HealthChecker> checkers;

    RouteListener(RouteRuntime runtime, List<HealthChecker> checkers) {
        this.runtime = new AtomicReference<>(runtime);
        this.checkers = List.copyOf(checkers);
    }

    RouteRuntime runtime() {
        return runtime.get();
    }

    /** The first listener socket: where the route is bound. */
    Channel channel() {
        return channels.isEmpty() ? null : channels.get(0);
    }

    /** The route's listener sockets: one per event loop with SO_REUSEPORT, else one. */
    void bound(List<Channel> listeners) {
        this.channels = List.copyOf(listeners);
        runtime.get().gate().attach(channels);
    }

    /** The route's listener sockets. */
    List<Channel> channels() {
        return channels;
    }

    /** Sets an option on every listener socket of the route (a reload's change to a listener-level setting). */
    <T> void setListenerOption(ChannelOption<T> option, T value) {
        channels.forEach(c -> c.config().setOption(option, value));
    }

    /** Closes every listener socket and waits for it. */
    void closeListeners() {
        List<Channel> all = channels;
        all.forEach(Channel::close);
        all.forEach(c -> c.closeFuture().awaitUninterruptibly());
    }

    /** Swaps in a new runtime for new connections; returns the old one. */
    RouteRuntime swap(RouteRuntime next, List<HealthChecker> nextCheckers) {
        next.gate().attach(channels);
        checkers.forEach(HealthChecker::close);
        checkers = List.copyOf(nextCheckers);
        RouteRuntime old = runtime.getAndSet(next);
        old.stopWatching();
        return old;
    }

    /** Stops the health checker and the name watches; the listener is closed by the caller. */
    void stopBackgroundWork() {
        checkers.forEach(HealthChecker::close);
        runtime.get().pools().forEach(BackendPool::close);
        runtime.get().stopWatching();
    }
}
