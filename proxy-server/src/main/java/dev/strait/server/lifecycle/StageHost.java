package dev.strait.server.lifecycle;

import java.net.InetSocketAddress;
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

    /**
     * A stage read who the client really is (a PROXY header): from now on {@code source} is the client everywhere
     * (admission, balancing, {@code /connections}, logs, a PROXY header sent on) and {@code destination} the address
     * it connected to; the TCP peer stays visible as the peer.
     */
    void identified(InetSocketAddress source, InetSocketAddress destination);

    /**
     * A stage read the server name the client asked for (TLS SNI): a v2 PROXY header sent on carries it as
     * {@code PP2_TYPE_AUTHORITY}. Nothing calls it until SNI routing lands.
     */
    void serverNamed(String serverName);
}
