package dev.strait.server.connection;

import dev.strait.server.route.WaitList;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.RejectedExecutionException;
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
    private boolean listed;

    Waiter(EventLoop loop, WaitList list) {
        this.loop = loop;
        this.list = list;
    }

    /**
     * Waits until an event or {@code timeoutNanos} pass, then runs {@code onWake} once on the event loop; the caller
     * tells a deadline from an event by the clock, and treats a wake-up as a reason to look again, never as a
     * promise. Joins the wait list first, so an event that happens while the caller checks once more is not missed.
     */
    void await(long timeoutNanos, Runnable onWake) {
        sleep(Math.max(0, timeoutNanos), onWake);
        listed = true;
        list.add(this);
    }

    /** Runs {@code then} after {@code nanos} unless stopped first; no event wakes it. */
    void sleep(long nanos, Runnable then) {
        stop();
        onWake = then;
        timer = loop.schedule(this::timedOut, nanos, TimeUnit.NANOSECONDS);
    }

    /** Ends the wait or sleep, if any, without running its callback. */
    void stop() {
        if (listed) {
            listed = false;
            list.remove(this);
        }
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void run() {
        try {
            loop.execute(this::woken);
        } catch (RejectedExecutionException shuttingDown) {
            // The client's event loop is stopping, and the client with it: nothing to wake.
        }
    }

    /** An event: only a wait on the list takes it (a wake-up queued before a sleep began must not end the sleep). */
    private void woken() {
        if (listed) {
            fire();
        }
    }

    private void timedOut() {
        timer = null;
        fire();
    }

    private void fire() {
        Runnable then = onWake;
        stop();
        then.run();
    }
}
