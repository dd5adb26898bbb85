package dev.strait.server.sni;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteMetrics.SniOutcome;
import dev.strait.server.support.RecordingStageHost;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Routing by the name of a handshake Strait terminated: matched, wildcard, no match, no name, no default. */
class NegotiatedNameStageTest {
    private final RouteMetrics metrics = new RouteMetrics(new ProxyMetrics("test"), "test");

    private final class Run {
        final RecordingStageHost host = new RecordingStageHost();
        final EmbeddedChannel channel = new EmbeddedChannel();

        Run(String negotiated, boolean hasDefault) {
            host.channel = channel;
            if (negotiated != null || hasDefault) {
                channel.attr(TlsSessionInfo.KEY)
                        .set(new TlsSessionInfo(negotiated, "TLSv1.3", "TLS_AES_128_GCM_SHA256", null, "postgresql"));
            }
            SniStage.Settings settings = new SniStage.Settings(
                    "test",
                    new SniMatcher(List.of(SniStageTest.target("db1.test"), SniStageTest.target("*.pg.test"))),
                    false,
                    hasDefault,
                    Duration.ZERO,
                    metrics);
            channel.pipeline().addLast("sni-name", new NegotiatedNameStage(host, settings));
        }

        void start() {
            channel.pipeline().fireUserEventTriggered(PreRelayStage.START);
        }

        boolean stageGone() {
            return channel.pipeline().get("sni-name") == null;
        }
    }

    @Test
    void routesTheNegotiatedNameToItsTarget() {
        Run exact = new Run("DB1.test.", true);
        exact.start();
        Run wildcard = new Run("x.pg.test", true);
        wildcard.start();

        assertThat(exact.host.target).isEqualTo("db1.test");
        assertThat(exact.host.greeting)
                .as("no greeting: the client's TLS ended here")
                .isNull();
        assertThat(exact.host.serverName).isEqualTo("DB1.test.");
        assertThat(exact.stageGone()).isTrue();
        assertThat(wildcard.host.target).isEqualTo("*.pg.test");
        assertThat(metrics.sniRoutedTotals())
                .containsEntry(new SniOutcome("db1.test", "matched"), 1L)
                .containsEntry(new SniOutcome("*.pg.test", "matched"), 1L);
        exact.channel.finishAndReleaseAll();
        wildcard.channel.finishAndReleaseAll();
    }

    @Test
    void sendsNoMatchAndNoNameToTheDefault() {
        Run noMatch = new Run("other.test", true);
        noMatch.start();
        Run noName = new Run(null, true);
        noName.start();

        for (Run run : List.of(noMatch, noName)) {
            assertThat(run.host.routed).isTrue();
            assertThat(run.host.target).isNull();
            assertThat(run.host.closed).isNull();
            run.channel.finishAndReleaseAll();
        }
        assertThat(metrics.sniRoutedTotals())
                .containsEntry(new SniOutcome("default", "no_match"), 1L)
                .containsEntry(new SniOutcome("default", "no_sni"), 1L);
    }

    @Test
    void closesWhatMatchesNothingWithoutDefaultBackends() {
        Run run = new Run("other.test", false);
        run.start();

        assertThat(run.host.routed).isFalse();
        assertThat(run.host.closed).isEqualTo(CloseCause.NO_BACKEND);
        assertThat(metrics.sniRoutedTotals()).containsEntry(new SniOutcome("none", "no_match"), 1L);
        run.channel.finishAndReleaseAll();
    }

    @Test
    void passesPlaintextReadBeforeItsTurnOnThenTheFin() {
        Run run = new Run("db1.test", true);
        run.channel.writeInbound(Unpooled.copiedBuffer("Q early", StandardCharsets.US_ASCII));
        run.channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        run.start();

        assertThat(run.host.target).isEqualTo("db1.test");
        ByteBuf passed = run.channel.readInbound();
        assertThat(passed.toString(StandardCharsets.US_ASCII)).isEqualTo("Q early");
        passed.release();
        assertThat(run.stageGone()).isTrue();
        run.channel.finishAndReleaseAll();
    }
}
