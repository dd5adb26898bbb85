package dev.strait.server.route;

import static java.util.Objects.requireNonNull;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decides whether a newly accepted client may proceed: the allow/deny lists, the per-source limit, the route's and the
 * server's connection limits, and the accept rate. With {@code onLimit: queue} the listener stops accepting when a
 * limit is reached, so new clients wait in the kernel's backlog, and resumes when a slot frees; a client accepted
 * before the pause took effect (on another loop's listener, or already in flight) waits, unread. With {@code refuse},
 * at once. Established connections are never touched.
 *
 * <p>Thread-safe: admit runs on the client's event loop, release on whichever loop closes it.
 */
public final class AdmissionGate {
    private final AccessList access;
    private final Limits limits;
    private final AtomicInteger global;
    private final int globalMax;
    private final Runnable onRelease;
    private final AtomicInteger active;
    private final Map<InetAddress, Integer> perSource;
    private final RateLimiter rate;
    private volatile List<Channel> listeners = List.of();
    private volatile long rateResumeNanos = System.nanoTime();
    private final AtomicBoolean resumeScheduled = new AtomicBoolean();

    /**
     * @param global live connections across all routes, shared by every gate of the server
     * @param globalMax the server-wide limit; 0 means none
     * @param onRelease called after a connection ends (and when an accept-rate pause ends), so paused listeners can
     *     resume and waiting clients ask again
     * @param previous the gate this one replaces on a reload, whose live counts it takes over; or null
     */
    public AdmissionGate(
            AccessList access,
            Limits limits,
            AtomicInteger global,
            int globalMax,
            Runnable onRelease,
            AdmissionGate previous) {
        this.active = previous == null ? new AtomicInteger() : previous.active;
        this.perSource = previous == null ? new ConcurrentHashMap<>() : previous.perSource;
        this.access = requireNonNull(access, "access");
        this.limits = requireNonNull(limits, "limits");
        this.global = requireNonNull(global, "global");
        this.globalMax = globalMax;
        this.onRelease = requireNonNull(onRelease, "onRelease");
        this.rate = limits.acceptRate() > 0 ? new RateLimiter(limits.acceptRate()) : null;
    }

    /** The listener sockets this gate pauses and resumes in queue mode. */
    public void attach(List<Channel> listenerChannels) {
        this.listeners = List.copyOf(listenerChannels);
    }

    /** What {@link #admit} decided. */
    public enum Outcome {
        /** Counted until {@link #release}: proceed. */
        ADMITTED,
        /** Queue mode and a limit is reached: hold the client unread and ask again when a slot is released. */
        WAIT,
        /** Not in the allow list, or in the deny list. */
        DENIED,
        /** Refuse mode and a limit is reached. */
        REFUSED
    }

    /** The outcome and, unless admitted, why. */
    public record Verdict(Outcome outcome, String reason) {
        static final Verdict ADMIT = new Verdict(Outcome.ADMITTED, "admitted");
    }

    /** Decides on a newly accepted client; an admitted one is counted until {@link #release}. */
    public Verdict admit(InetAddress client) {
        if (!access.permits(client)) {
            return new Verdict(Outcome.DENIED, "denied by allow/deny");
        }
        if (rate != null && !rate.tryAcquire()) {
            pauseFor(rate.millisUntilNext());
            return overLimit("acceptRate " + limits.acceptRate() + "/s reached");
        }
        if (limits.perSourceMaxConnections() > 0) {
            boolean[] over = {false};
            perSource.compute(client, (c, n) -> {
                int now = n == null ? 0 : n;
                if (now >= limits.perSourceMaxConnections()) {
                    over[0] = true;
                    return n;
                }
                return now + 1;
            });
            if (over[0]) {
                return new Verdict(
                        Outcome.REFUSED, "perSourceMaxConnections " + limits.perSourceMaxConnections() + " reached");
            }
        }
        int routeCount = active.incrementAndGet();
        int globalCount = global.incrementAndGet();
        boolean overRoute = limits.maxConnections() > 0 && routeCount > limits.maxConnections();
        boolean overGlobal = globalMax > 0 && globalCount > globalMax;
        if (overRoute || overGlobal) {
            active.decrementAndGet();
            global.decrementAndGet();
            releaseSource(client);
            pauseWhileFull();
            return overLimit(
                    overRoute
                            ? "maxConnections " + limits.maxConnections() + " reached"
                            : "global maxConnections " + globalMax + " reached");
        }
        pauseWhileFull();
        return Verdict.ADMIT;
    }

    private Verdict overLimit(String reason) {
        // In queue mode a client accepted before the listener's pause took effect waits rather than being refused.
        return new Verdict(limits.onLimit() == OnLimit.QUEUE ? Outcome.WAIT : Outcome.REFUSED, reason);
    }

    /** Ends the count of an admitted client. */
    public void release(InetAddress client) {
        active.decrementAndGet();
        global.decrementAndGet();
        releaseSource(client);
        onRelease.run();
    }

    /** Resumes accepting if this gate paused its listener and there is room again. */
    public void resumeIfRoom() {
        if (limits.onLimit() == OnLimit.QUEUE && !full() && System.nanoTime() - rateResumeNanos >= 0) {
            setAccepting(true);
        }
    }

    private boolean full() {
        return (limits.maxConnections() > 0 && active.get() >= limits.maxConnections())
                || (globalMax > 0 && global.get() >= globalMax);
    }

    private void pauseWhileFull() {
        if (limits.onLimit() == OnLimit.QUEUE && full()) {
            setAccepting(false);
            if (!full()) { // a connection ended meanwhile
                setAccepting(true);
            }
        }
    }

    private void pauseFor(long millis) {
        List<Channel> all = listeners;
        if (limits.onLimit() == OnLimit.QUEUE && !all.isEmpty()) {
            long wait = Math.max(1, millis);
            rateResumeNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
            setAccepting(false);
            // One timer per gate at a time: clients woken by it that meet the rate again must not each add another
            // (that multiplied timers and wake-ups by the number of waiting clients every round). When it fires,
            // onRelease resumes this listener if there is room and wakes the clients waiting for a slot.
            if (resumeScheduled.compareAndSet(false, true)) {
                all.get(0)
                        .eventLoop()
                        .schedule(
                                () -> {
                                    resumeScheduled.set(false);
                                    onRelease.run();
                                },
                                wait,
                                TimeUnit.MILLISECONDS);
            }
        }
    }

    private void setAccepting(boolean accepting) {
        for (Channel l : listeners) {
            if (l.config().isAutoRead() != accepting) {
                l.config().setAutoRead(accepting);
            }
        }
    }

    private void releaseSource(InetAddress client) {
        if (limits.perSourceMaxConnections() > 0) {
            perSource.computeIfPresent(client, (c, n) -> n <= 1 ? null : n - 1);
        }
    }

    /** A token bucket of {@code perSecond} tokens a second, holding at most one second's worth. */
    private static final class RateLimiter {
        private final double perNano;
        private final double capacity;
        private double tokens;
        private long last = System.nanoTime();

        RateLimiter(int perSecond) {
            this.perNano = perSecond / 1e9;
            this.capacity = Math.max(1, perSecond);
            this.tokens = capacity;
        }

        synchronized boolean tryAcquire() {
            long now = System.nanoTime();
            tokens = Math.min(capacity, tokens + (now - last) * perNano);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
        }

        synchronized long millisUntilNext() {
            return (long) Math.ceil((1 - tokens) / perNano / 1e6);
        }
    }
}
