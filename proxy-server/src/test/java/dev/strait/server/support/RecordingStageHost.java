package dev.strait.server.support;

import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.StageHost;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A {@link StageHost} for a stage's unit test: records the stage's turn and its close, and closes the channel on
 * {@code close}; routing, identifying and naming fail the test (the stages that use it do none of them).
 */
public final class RecordingStageHost implements StageHost {
    public EmbeddedChannel channel;
    public String stage;
    public Duration deadline;
    public CloseCause onDeadline;
    /** The last cause asked for: a second close would show here. */
    public CloseCause closed;

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
    public void routeTo(String target, BackendGreeting greeting) {
        throw new AssertionError("the stage routes nowhere");
    }

    @Override
    public void identified(InetSocketAddress source, InetSocketAddress destination) {
        throw new AssertionError("the stage never identifies the client");
    }

    @Override
    public void serverNamed(String name) {
        throw new AssertionError("the stage reports no server name to the host");
    }
}
