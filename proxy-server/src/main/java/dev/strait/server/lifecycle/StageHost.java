package dev.strait.server.lifecycle;

import java.time.Duration;

/**
 * What a {@link PreRelayStage} may ask of the connection that owns it: to be recorded as running, with its deadline,
 * and to end the connection with a cause. The owner holds the deadline's timer, so its close path cancels it.
 *
 * <p>Called on the client's event loop only.
 */
public interface StageHost {
    /**
     * The stage {@code stage} starts reading the client: the connection's state becomes {@code Staging(stage)}, and
     * it is closed with {@code onDeadline} unless the stage hands over within {@code deadline}.
     */
    void staging(String stage, Duration deadline, CloseCause onDeadline);

    /** Closes the connection for {@code cause}. */
    void close(CloseCause cause);

    /**
     * A stage chose where the client goes: the route's target named {@code target} (null: the route's default
     * backends), and what Strait must say to that backend before the relay starts (null: nothing).
     */
    void routeTo(String target, BackendGreeting greeting);
}
