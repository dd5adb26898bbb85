package dev.strait.server.support;

import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.StageHost;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A {@link StageHost} for a stage's unit test: records the stage's turn, its close (and closes the channel), the target
 * it routed to and the server name it reported; identifying the client fails the test (only the PROXY header stage
 * does, and it has its own tests over a whole route).
 */
public final class RecordingStageHost implements StageHost {
    public EmbeddedChannel channel;
    public String stage;
    public Duration deadline;
    public CloseCause onDeadline;
    /** The last cause asked for: a second close would show here. */
    public CloseCause closed;
    /** Whether the stage chose a target (null: the route's own backends), and what it chose. */
    public boolean routed;

    public String target;
    public BackendGreeting greeting;
    public String serverName;

    @Override
    public void staging(String name, Duration d, CloseCause cause) {
        stage = name;
        deadline = d;
        onDeadline = cause;
    }

    @Override
    public void close(CloseCause cause) {
        closed = cause;
        channel.close();
    }

    @Override
    public void routeTo(String t, BackendGreeting g) {
        routed = true;
        target = t;
        greeting = g;
    }

    @Override
    public void identified(InetSocketAddress source, InetSocketAddress destination) {
        throw new AssertionError("the stage never identifies the client");
    }

    @Override
    public void serverNamed(String name) {
        serverName = name;
    }
}
