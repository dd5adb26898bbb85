package dev.strait.server.connection;

import dev.strait.server.route.WaitList;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one wait of a client connection, for an admission slot or a backend, under one deadline counted from accept.
 * While waiting it is on the route's {@link WaitList}: a slot released, a backend coming up or a capped backend's
 * count going down wakes it, and so does its one timer (the deadline, or an earlier retry when asked for one). It
 * never polls.
 *
 * <p>Thread model: {@link #await} and {@link #stop} run on the client's event loop; {@link #run} is the
 * {@link WaitList}'s wake-up, from any thread, and only hands over to that loop.
 */
final class Waiter implements Runnable {
    private final EventLoop loop;
    private final WaitList list;
    private Runnable onWake;
    private ScheduledFuture<?> timer;
    private boolean waiting;

    Waiter(EventLoop loop, WaitList list) {
        this.loop = loop;
        this.list = list;
    }

    /**
     * Waits until an event or {@code timeoutNanos} pass, then runs {@code onWake} once on the event loop; the caller
     * tells a deadline from an event by the clock. Joins the wait list first, so an event that happens while the
     * caller checks once more is not missed.
     */
    void await(long timeoutNanos, Runnable onWake) {
        stop();
        this.onWake = onWake;
        waiting = true;
        list.add(this);
        timer = loop.schedule(this::wake, Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
    }

    /** Runs {@code then} after {@code nanos} unless stopped first; no event wakes it. */
    void sleep(long nanos, Runnable then) {
        stop();
        onWake = then;
        waiting = true;
        timer = loop.schedule(this::wake, nanos, TimeUnit.NANOSECONDS);
    }

    /** Whether a wait is on. */
    boolean waiting() {
        return waiting;
    }

    /** Ends the wait, if any, without running its callback. */
    void stop() {
        if (waiting) {
            waiting = false;
            list.remove(this);
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void run() {
        loop.execute(this::wake);
    }

    private void wake() {
        if (waiting) {
            Runnable then = onWake;
            stop();
            then.run();
        }
    }
}
