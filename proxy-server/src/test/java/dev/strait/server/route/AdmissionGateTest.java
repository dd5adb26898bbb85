package dev.strait.server.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AdmissionGateTest {
    /**
     * Every waiting client that meets the accept rate again pauses the gate; before, each pause added its own resume
     * timer, and each timer woke every waiting client, so timers and wake-ups multiplied every round.
     */
    @Test
    void schedulesOneResumeHoweverManyClientsMeetTheAcceptRate() {
        EmbeddedChannel listener = new EmbeddedChannel();
        AtomicInteger resumes = new AtomicInteger();
        AdmissionGate gate = new AdmissionGate(
                AccessList.OPEN,
                new Limits(0, OnLimit.QUEUE, 0, 1),
                new AtomicInteger(),
                0,
                resumes::incrementAndGet,
                null);
        gate.attach(List.of(listener));
        InetAddress client = InetAddress.getLoopbackAddress();
        while (gate.admit(client).outcome() == AdmissionGate.Outcome.ADMITTED) {
            // empty the token bucket
        }

        int waits = 0;
        for (int client30 = 0; client30 < 30; client30++) {
            if (gate.admit(client).outcome() == AdmissionGate.Outcome.WAIT) {
                waits++;
            }
        }
        assertThat(waits).as("clients that met the rate (1/s)").isGreaterThanOrEqualTo(20);
        listener.advanceTimeBy(2, TimeUnit.SECONDS);
        listener.runScheduledPendingTasks();

        assertThat(resumes).as("resume timers run for one pause").hasValue(1);
        assertThat(listener.finish()).isFalse();
    }
}
