package dev.strait.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IdleTimeoutHandlerTest {

    @Test
    void closesAConnectionThatStaysIdleForTheTimeout() {
        EmbeddedChannel channel = new EmbeddedChannel(new IdleTimeoutHandler(Duration.ofSeconds(10)));

        channel.advanceTimeBy(9, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.advanceTimeBy(2, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isFalse();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void trafficInEitherDirectionKeepsTheConnectionOpen() {
        EmbeddedChannel channel = new EmbeddedChannel(new IdleTimeoutHandler(Duration.ofSeconds(10)));

        channel.advanceTimeBy(8, TimeUnit.SECONDS);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
        channel.advanceTimeBy(8, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.writeOutbound(Unpooled.wrappedBuffer(new byte[] {2}));
        channel.advanceTimeBy(8, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.finishAndReleaseAll();
    }
}
