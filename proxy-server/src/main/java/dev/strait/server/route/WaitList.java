package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The clients of a route that wait, unread, for an admission slot or a backend, and the one call that wakes them all
 * when something they may be waiting for happens: a slot released (on any route, since the server-wide limit is
 * shared), a backend coming up, or a capped backend's count going down. A woken client asks again; one still out of
 * luck simply waits on. Nothing polls.
 *
 * <p>Thread-safe: waiters are added and removed on their own event loops; {@link #wakeAll()} runs on whichever thread
 * saw the event, and a waiter's {@link Runnable#run()} must only hand the work to its own event loop.
 */
public final class WaitList {
    private final Set<Runnable> waiting = ConcurrentHashMap.newKeySet();

    /** Adds a waiter; it stays until {@link #remove}d, and may be woken more than once. */
    public void add(Runnable waiter) {
        waiting.add(requireNonNull(waiter, "waiter"));
    }

    public void remove(Runnable waiter) {
        waiting.remove(waiter);
    }

    /** How many clients wait now. */
    public int size() {
        return waiting.size();
    }

    /** Wakes every waiter; cheap when none waits, which is the common case. */
    public void wakeAll() {
        if (!waiting.isEmpty()) {
            waiting.forEach(Runnable::run);
        }
    }
}
