package dev.strait.server.sni;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.SniTarget;
import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteMetrics.SniOutcome;
import dev.strait.server.support.RecordingStageHost;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SniStageTest {
    static final byte[] SSL_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};
    static final byte[] GSSENC_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x30};
    static final byte[] CANCEL_REQUEST = {0, 0, 0, 16, 4, (byte) 0xd2, 0x16, 0x2e, 0, 0, 0, 42, 1, 2, 3, 4};
    static final byte[] STARTUP = {
        0, 0, 0, 23, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 0, 0
    };

    /** One connection through a stage, with what it passed on. */
    static final class Run {
        final RecordingStageHost host = new RecordingStageHost();
        final RouteMetrics metrics = new RouteMetrics(new ProxyMetrics("test"), "test");
        final EmbeddedChannel channel;

        Run(boolean postgres, boolean hasDefault, Duration silent) {
            SniStage.Settings settings = new SniStage.Settings(
                    "test",
                    new SniMatcher(List.of(target("db1.test"), target("*.pg.test"))),
                    postgres,
                    hasDefault,
                    silent,
                    metrics);
            SniStage stage = new SniStage(host, settings, Duration.ofSeconds(10));
            channel = new EmbeddedChannel();
            host.channel = channel;
            channel.pipeline().addLast("sni", stage);
            channel.pipeline().fireUserEventTriggered(PreRelayStage.START);
        }

        Run(boolean postgres) {
            this(postgres, true, Duration.ZERO);
        }

        void send(byte[] bytes, int... cuts) {
            int from = 0;
            for (int cut : cuts) {
                channel.writeInbound(Unpooled.copiedBuffer(bytes, from, cut - from));
                from = cut;
            }
            channel.writeInbound(Unpooled.copiedBuffer(bytes, from, bytes.length - from));
        }

        /** Everything passed on to the handlers after the stage, released. */
        byte[] passedOn() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Object m; (m = channel.readInbound()) != null; ) {
                ByteBuf buf = (ByteBuf) m;
                out.writeBytes(ByteBufUtil.getBytes(buf));
                buf.release();
            }
            return out.toByteArray();
        }

        /** Everything the stage wrote to the client, released. */
        String answered() {
            StringBuilder out = new StringBuilder();
            for (Object m; (m = channel.readOutbound()) != null; ) {
                ByteBuf buf = (ByteBuf) m;
                out.append(buf.toString(java.nio.charset.StandardCharsets.ISO_8859_1));
                buf.release();
            }
            return out.toString();
        }

        boolean stageGone() {
            return channel.pipeline().get("sni") == null;
        }

        long counted(String target, String result) {
            return metrics.sniRoutedTotals().getOrDefault(new SniOutcome(target, result), 0L);
        }

        void finish() {
            passedOn();
            answered();
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void routesAHelloSplitAtEveryOffsetAndPassesItOnByteForByte() {
        byte[] hello = TlsHellos.records(TlsHellos.handshake("DB1.test", List.of("h2"), 1100), 700);
        for (int cut = 1; cut < hello.length; cut++) {
            Run run = new Run(false);
            run.send(hello, cut);
            assertThat(run.host.target).as("cut at %d", cut).isEqualTo("db1.test");
            assertThat(run.stageGone()).isTrue();
            assertThat(run.passedOn()).isEqualTo(hello);
            run.finish();
        }
    }

    @Test
    void routesAHelloInThreeChunksThenPassesLaterBytesOnInOrder() {
        byte[] hello = TlsHellos.hello("x.pg.test");
        Run run = new Run(false);
        run.send(hello, 3, 40);
        run.channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));

        assertThat(run.host.stage).isEqualTo("sni");
        assertThat(run.host.onDeadline).isEqualTo(CloseCause.CLIENT_HELLO_TIMEOUT);
        assertThat(run.host.deadline).isEqualTo(Duration.ofSeconds(10));
        assertThat(run.host.target).isEqualTo("*.pg.test");
        assertThat(run.host.greeting).isNull();
        byte[] expected = new byte[hello.length + 3];
        System.arraycopy(hello, 0, expected, 0, hello.length);
        expected[hello.length] = 1;
        expected[hello.length + 1] = 2;
        expected[hello.length + 2] = 3;
        assertThat(run.passedOn()).isEqualTo(expected);
        assertThat(run.counted("*.pg.test", "matched")).isEqualTo(1);
        run.finish();
    }

    @Test
    void sendsNoSniNoMatchAndNotTlsToTheDefault() {
        Run noSni = new Run(false);
        noSni.send(TlsHellos.hello(null));
        Run noMatch = new Run(false);
        noMatch.send(TlsHellos.hello("other.test"));
        Run notTls = new Run(false);
        notTls.send("SSH-2.0-OpenSSH_9.2\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

        for (Run run : List.of(noSni, noMatch, notTls)) {
            assertThat(run.host.routed).isTrue();
            assertThat(run.host.target).isNull();
            assertThat(run.passedOn()).isNotEmpty();
            run.finish();
        }
        assertThat(noSni.counted("default", "no_sni")).isEqualTo(1);
        assertThat(noMatch.counted("default", "no_match")).isEqualTo(1);
        assertThat(notTls.counted("default", "not_tls")).isEqualTo(1);
    }

    @Test
    void closesWhatMatchesNoTargetWhenThereIsNoDefault() {
        Run run = new Run(false, false, Duration.ZERO);
        run.send(TlsHellos.hello("other.test"));

        assertThat(run.host.closed).isEqualTo(CloseCause.NO_BACKEND);
        assertThat(run.host.routed).isFalse();
        assertThat(run.passedOn()).isEmpty();
        assertThat(run.counted("none", "no_match")).isEqualTo(1);
        run.finish();
    }

    @Test
    void sendsASilentClientToTheDefaultAfterSilentClient() {
        Run run = new Run(false, true, Duration.ofMillis(500));
        run.channel.advanceTimeBy(499, TimeUnit.MILLISECONDS);
        run.channel.runScheduledPendingTasks();
        assertThat(run.host.routed).isFalse();

        run.channel.advanceTimeBy(2, TimeUnit.MILLISECONDS);
        run.channel.runScheduledPendingTasks();

        assertThat(run.host.routed).isTrue();
        assertThat(run.host.target).isNull();
        assertThat(run.stageGone()).isTrue();
        assertThat(run.counted("default", "silent")).isEqualTo(1);
        run.finish();
    }

    @Test
    void aClientThatSpeaksBeforeSilentClientIsRoutedByItsHello() {
        Run run = new Run(false, true, Duration.ofMillis(500));
        run.send(TlsHellos.hello("db1.test"), 10);
        run.channel.advanceTimeBy(1, TimeUnit.SECONDS);
        run.channel.runScheduledPendingTasks();
        assertThat(run.host.target).isEqualTo("db1.test");
        run.finish();
    }

    @Test
    void answersPostgresSslRequestThenRoutesItsHelloWithTheBackendGreeting() {
        Run run = new Run(true);
        run.send(SSL_REQUEST, 3);
        assertThat(run.answered()).isEqualTo("S");
        assertThat(run.host.routed).isFalse();

        byte[] hello = TlsHellos.hello("db1.test", "postgresql");
        run.send(hello, 100);

        assertThat(run.host.target).isEqualTo("db1.test");
        assertThat(run.host.greeting).isSameAs(BackendGreeting.POSTGRES_SSL);
        assertThat(run.passedOn())
                .as("the hello only: Strait sends its own SSLRequest")
                .isEqualTo(hello);
        run.finish();
    }

    @Test
    void closesBytesInjectedAfterTheSslRequestBeforeTheHandshake() {
        Run run = new Run(true);
        byte[] injected = new byte[SSL_REQUEST.length + STARTUP.length];
        System.arraycopy(SSL_REQUEST, 0, injected, 0, 8);
        System.arraycopy(STARTUP, 0, injected, 8, STARTUP.length);
        run.send(injected);

        assertThat(run.host.closed).isEqualTo(CloseCause.PROTOCOL_ERROR);
        assertThat(run.answered()).isEmpty();
        assertThat(run.passedOn()).isEmpty();
        assertThat(run.host.routed).isFalse();
        run.finish();
    }

    @Test
    void answersGssencRequestNThenTakesAnSslRequest() {
        Run run = new Run(true);
        run.send(GSSENC_REQUEST);
        assertThat(run.answered()).isEqualTo("N");
        run.send(SSL_REQUEST);
        assertThat(run.answered()).isEqualTo("S");
        run.send(TlsHellos.hello("a.pg.test"));
        assertThat(run.host.target).isEqualTo("*.pg.test");
        run.finish();
    }

    @Test
    void sendsPlaintextStartupAndCancelRequestsToTheDefaultUnchanged() {
        Run startup = new Run(true);
        startup.send(STARTUP, 4);
        assertThat(startup.host.target).isNull();
        assertThat(startup.host.greeting).isNull();
        assertThat(startup.passedOn()).isEqualTo(STARTUP);
        assertThat(startup.counted("default", "plaintext")).isEqualTo(1);
        startup.finish();

        Run cancel = new Run(true);
        cancel.send(CANCEL_REQUEST, 5);
        assertThat(cancel.host.routed).isTrue();
        assertThat(cancel.host.target).isNull();
        assertThat(cancel.passedOn()).isEqualTo(CANCEL_REQUEST);
        assertThat(cancel.counted("default", "cancel")).isEqualTo(1);
        cancel.finish();
    }

    @Test
    void routesPostgresDirectTlsBySni() {
        Run run = new Run(true);
        byte[] hello = TlsHellos.hello("db1.test", "postgresql");
        run.send(hello, 2);
        assertThat(run.host.target).isEqualTo("db1.test");
        assertThat(run.host.greeting).isNull();
        assertThat(run.answered()).isEmpty();
        assertThat(run.passedOn()).isEqualTo(hello);
        run.finish();
    }

    @Test
    void closesAPostgresClientThatSpeaksPlaintextAfterStraitAnsweredS() {
        Run run = new Run(true);
        run.send(SSL_REQUEST);
        run.answered();
        run.send(STARTUP);
        assertThat(run.host.closed).isEqualTo(CloseCause.PROTOCOL_ERROR);
        assertThat(run.passedOn()).isEmpty();
        run.finish();
    }

    @Test
    void anEarlyFinSendsWhatCameToTheDefault() {
        Run run = new Run(false);
        byte[] hello = TlsHellos.hello("db1.test");
        run.send(java.util.Arrays.copyOf(hello, 20));
        run.channel.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertThat(run.host.routed).isTrue();
        assertThat(run.host.target).isNull();
        assertThat(run.passedOn()).hasSize(20);
        run.finish();
    }

    static SniTarget target(String name) {
        return new SniTarget(
                List.of(name),
                List.of(BackendSpec.of(new HostAndPort("127.0.0.1", 1))),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                2);
    }
}
