package dev.strait.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.Route;
import dev.strait.config.TlsConfig;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.EngineHandshake;
import dev.strait.server.support.RecordingStageHost;
import dev.strait.server.support.TestPki;
import dev.strait.server.termination.TlsStage;
import dev.strait.server.tls.ServerTls;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The preamble in front of the TLS stage: what is answered, what goes on, what is closed, at every split. */
class PostgresPreambleStageTest {
    static final byte[] SSL_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};
    static final byte[] GSSENC_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x30};
    static final byte[] CANCEL_REQUEST = {0, 0, 0, 16, 4, (byte) 0xd2, 0x16, 0x2e, 0, 0, 0, 42, 1, 2, 3, 4};
    static final byte[] STARTUP = {
        0, 0, 0, 23, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 0, 0
    };

    @TempDir
    static Path dir;

    static ServerTls serverTls;
    static SSLContext clientTls;

    @BeforeAll
    static void certificate() throws Exception {
        TestPki.DbServer db = TestPki.dbServer(dir);
        TlsConfig tls = db.tls();
        // As a protocol: postgres route has it: ALPN postgresql offered.
        serverTls = ServerTls.load(
                "test",
                new TlsConfig(
                        tls.certificates(),
                        tls.protocols(),
                        tls.clientAuth(),
                        tls.clientCa(),
                        List.of(Route.POSTGRES_ALPN),
                        tls.handshakeTimeout(),
                        tls.provider(),
                        false));
        clientTls = db.client();
    }

    /** What reaches the end of the pipeline: the bytes, and whether the next stage got its turn. */
    static final class Tail extends ChannelInboundHandlerAdapter {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<Object> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            bytes.writeBytes(ByteBufUtil.getBytes(buf));
            buf.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }
    }

    /** One connection: the preamble stage, the route's TLS stage (when asked for), and a tail. */
    static final class Run {
        final RecordingStageHost host = new RecordingStageHost();
        final Tail tail = new Tail();
        final EmbeddedChannel channel = new EmbeddedChannel();

        Run(boolean withTlsStage) {
            host.channel = channel;
            channel.pipeline().addLast("postgres", new PostgresPreambleStage("test", Duration.ofSeconds(7), host));
            if (withTlsStage) {
                TlsStage tls = new TlsStage(serverTls, Duration.ofSeconds(10), () -> {}, host);
                channel.pipeline().addLast("tls", tls);
            }
            channel.pipeline().addLast("tail", tail);
            channel.pipeline().fireUserEventTriggered(PreRelayStage.START);
        }

        Run() {
            this(false);
        }

        void send(byte[] bytes, int... cuts) {
            int from = 0;
            for (int cut : cuts) {
                channel.writeInbound(Unpooled.copiedBuffer(bytes, from, cut - from));
                from = cut;
            }
            channel.writeInbound(Unpooled.copiedBuffer(bytes, from, bytes.length - from));
        }

        /** Everything written to the client, released. */
        byte[] answered() {
            return Bytes.drainOutbound(channel);
        }

        boolean stageGone() {
            return channel.pipeline().get("postgres") == null;
        }

        boolean handedOver() {
            return stageGone() && tail.events.contains(PreRelayStage.START);
        }

        void finish() {
            answered();
            channel.finishAndReleaseAll();
            assertThat(host.routed).as("routed").isFalse();
            assertThat(host.serverName).as("a server name reported").isNull();
        }
    }

    @Test
    void answersAnSslRequestSplitAtEveryOffsetWithSAndHandsOverToTheTlsStage() {
        for (int cut = 0; cut < SSL_REQUEST.length; cut++) { // 0: in one read; else split at cut
            Run run = new Run(true);
            run.send(SSL_REQUEST, cut == 0 ? new int[0] : new int[] {cut});
            assertThat(run.answered()).as("cut at %d", cut).containsExactly('S');
            assertThat(run.stageGone()).as("cut at %d", cut).isTrue();
            assertThat(run.host.stage).as("the TLS stage has its turn").isEqualTo("tls");
            assertThat(run.channel.pipeline().get(SslHandler.class))
                    .as("and its handler (one certificate: no SNI handler)")
                    .isNotNull();
            assertThat(run.tail.bytes.size())
                    .as("the SSLRequest is not passed on")
                    .isZero();
            assertThat(run.host.closed).isNull();
            run.finish();
        }
    }

    @Test
    void runsUnderTheHandshakeTimeoutAsItsDeadline() {
        Run run = new Run();
        assertThat(run.host.stage).isEqualTo("postgres");
        assertThat(run.host.deadline).isEqualTo(Duration.ofSeconds(7));
        assertThat(run.host.onDeadline).isEqualTo(CloseCause.TLS_HANDSHAKE_TIMEOUT);
        run.finish();
    }

    @Test
    void answersAGssencRequestNThenReadsTheSslRequestSplitAtEveryOffset() {
        for (int cut = 0; cut < SSL_REQUEST.length; cut++) { // 0: in one read; else split at cut
            Run run = new Run();
            run.send(GSSENC_REQUEST); // the client waits for N before it sends the SSLRequest
            assertThat(run.answered()).containsExactly('N');
            assertThat(run.stageGone()).isFalse();
            run.send(SSL_REQUEST, cut == 0 ? new int[0] : new int[] {cut});
            assertThat(run.answered()).as("cut at %d", cut).containsExactly('S');
            assertThat(run.handedOver()).isTrue();
            assertThat(run.tail.bytes.size()).isZero();
            run.finish();
        }
    }

    @Test
    void closesASecondGssencRequest() {
        Run run = new Run();
        run.send(GSSENC_REQUEST);
        run.send(GSSENC_REQUEST);
        assertThat(run.answered()).containsExactly('N');
        assertThat(run.host.closed).isEqualTo(CloseCause.PROTOCOL_ERROR);
        run.finish();
    }

    @Test
    void closesBytesAfterAnSslRequestBeforeItsAnswerAtEverySplit() {
        byte[] injected = concat(SSL_REQUEST, new byte[] {0, 0, 0, 9, 'Q', 'x', 0, 0, 0});
        for (int cut = 0; cut < SSL_REQUEST.length; cut++) { // 0: all in one read; else the SSLRequest split
            Run run = new Run(true);
            run.send(injected, cut == 0 ? new int[0] : new int[] {cut});
            assertThat(run.answered()).as("cut at %d: no S", cut).isEmpty();
            assertThat(run.host.closed).as("cut at %d", cut).isEqualTo(CloseCause.PROTOCOL_ERROR);
            assertThat(run.tail.bytes.size()).isZero();
            assertThat(run.channel.isOpen()).isFalse();
            run.finish();
        }
    }

    @Test
    void closesBytesAfterAGssencRequestBeforeItsAnswer() {
        Run run = new Run();
        run.send(concat(GSSENC_REQUEST, SSL_REQUEST));
        assertThat(run.answered()).isEmpty();
        assertThat(run.host.closed).isEqualTo(CloseCause.PROTOCOL_ERROR);
        run.finish();
    }

    @Test
    void passesADirectTlsHelloOnAsItCameToAHandshakeThatNegotiatesAlpnPostgresql() throws Exception {
        for (int cut = 0; cut < 12; cut++) { // 0: the first flight in one read; else split at cut
            Run run = new Run(true);
            SSLEngine client = handshake(run, cut, "http/1.1", "postgresql");
            assertThat(client.getApplicationProtocol()).as("cut at %d", cut).isEqualTo("postgresql");
            assertThat(run.host.closed).as("cut at %d", cut).isNull();
            assertThat(run.handedOver()).as("the TLS stage handed over").isTrue();
            assertThat(run.channel.attr(TlsSessionInfo.KEY).get().alpn()).isEqualTo("postgresql");
            run.finish();
        }
    }

    @Test
    void closesADirectTlsHandshakeWithoutAlpnPostgresqlWithTlsErrorAsPostgresqlDoes() throws Exception {
        for (String[] alpn : List.of(new String[0], new String[] {"http/1.1"})) {
            Run run = new Run(true);
            handshake(run, 0, alpn);
            assertThat(run.host.closed).as("ALPN %s", Arrays.toString(alpn)).isEqualTo(CloseCause.TLS_ERROR);
            assertThat(run.channel.isOpen()).isFalse();
            assertThat(run.tail.events).as("nothing handed over").doesNotContain(PreRelayStage.START);
            assertThat(run.tail.bytes.size()).isZero();
            run.finish();
        }
    }

    @Test
    void letsAnSslRequestClientHandshakeWithoutAlpn() throws Exception {
        Run run = new Run(true);
        run.send(SSL_REQUEST);
        assertThat(run.answered()).containsExactly('S');
        SSLEngine client = handshake(run, 0);
        assertThat(client.getApplicationProtocol()).as("no ALPN").isEmpty();
        assertThat(run.host.closed).isNull();
        assertThat(run.handedOver()).isTrue();
        run.finish();
    }

    /**
     * A JDK client's handshake with the run's TLS stage, offering {@code alpn}, its first flight split at {@code cut}
     * (0: in one read); returns the client's engine once it has finished, or once the server has nothing more to say.
     */
    private static SSLEngine handshake(Run run, int cut, String... alpn) throws Exception {
        SSLEngine client = clientTls.createSSLEngine("db.test", 5432);
        client.setUseClientMode(true);
        SSLParameters parameters = client.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName("db.test")));
        parameters.setApplicationProtocols(alpn);
        client.setSSLParameters(parameters);
        boolean[] first = {true};
        return EngineHandshake.run(
                client,
                flight -> {
                    run.send(flight, first[0] && cut > 0 ? new int[] {cut} : new int[0]);
                    first[0] = false;
                },
                run::answered);
    }

    @Test
    void passesAPlaintextCancelOnWithoutTheTlsStageAtEverySplit() {
        for (int cut = 1; cut < CANCEL_REQUEST.length; cut++) {
            Run run = new Run(true);
            assertThat(run.channel.pipeline().get(SslHandler.class)).isNotNull();
            run.send(CANCEL_REQUEST, cut);
            assertThat(run.answered()).isEmpty();
            assertThat(run.handedOver()).as("cut at %d", cut).isTrue();
            assertThat(run.channel.pipeline().get(TlsStage.class)).isNull();
            assertThat(run.channel.pipeline().get(SslHandler.class)).isNull();
            assertThat(run.tail.events)
                    .as("the removed SslHandler's events stop at the TLS stage")
                    .noneMatch(e -> e instanceof SslHandshakeCompletionEvent || e instanceof SslCloseCompletionEvent);
            assertThat(run.tail.bytes.toByteArray()).as("cut at %d", cut).isEqualTo(CANCEL_REQUEST);
            assertThat(run.host.closed).isNull();
            run.finish();
        }
    }

    @Test
    void answersAPlaintextStartupWithAFatalErrorOnceItIsWholeAndCloses() {
        for (int cut = 1; cut < STARTUP.length; cut++) {
            Run run = new Run(true);
            run.send(STARTUP, cut);
            byte[] answer = run.answered();
            assertThat(answer[0]).isEqualTo((byte) 'E');
            String fields = new String(answer, 5, answer.length - 5, StandardCharsets.UTF_8);
            assertThat(fields)
                    .contains("SFATAL\0")
                    .contains("C28000\0")
                    .contains("M" + PostgresPreambleStage.TLS_REQUIRED_MESSAGE + "\0");
            assertThat(Unpooled.wrappedBuffer(answer).getInt(1))
                    .as("its length field")
                    .isEqualTo(answer.length - 1);
            assertThat(run.host.closed).as("cut at %d", cut).isEqualTo(CloseCause.TLS_REQUIRED);
            assertThat(run.tail.bytes.size()).isZero();
            assertThat(run.channel.isOpen()).isFalse();
            run.finish();
        }
    }

    @Test
    void waitsForTheWholeStartupMessageBeforeAnswering() {
        Run run = new Run();
        run.send(Arrays.copyOf(STARTUP, 20));
        assertThat(run.answered()).isEmpty();
        assertThat(run.host.closed).isNull();
        run.finish();
    }

    @Test
    void closesAFirstMessageNoPostgresqlServerAccepts() {
        Run tooShort = new Run();
        tooShort.send(new byte[] {0, 0, 0, 4, 0, 3, 0, 0});
        Run tooLong = new Run();
        tooLong.send(new byte[] {0, 1, 0, 0, 0, 3, 0, 0});
        Run http = new Run();
        http.send("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        Run longSsl = new Run();
        longSsl.send(new byte[] {0, 0, 0, 12, 4, (byte) 0xd2, 0x16, 0x2f, 0, 0, 0, 0});
        for (Run run : List.of(tooShort, tooLong, http, longSsl)) {
            assertThat(run.host.closed).isEqualTo(CloseCause.PROTOCOL_ERROR);
            assertThat(run.answered()).isEmpty();
            run.finish();
        }
    }

    @Test
    void aFinBeforeTheClientSaidAnythingWholeClosesWithNothingPassedOn() {
        Run run = new Run();
        run.send(new byte[] {0, 0, 0});
        run.channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(run.host.closed).isEqualTo(CloseCause.CLIENT_CLOSE);
        assertThat(run.tail.bytes.size()).isZero();
        run.finish();
    }

    @Test
    void releasesWhatItReadWhenTheClientLeaves() {
        Run run = new Run();
        run.send(new byte[] {0, 0, 0, 23, 0, 3});
        run.channel.close();
        assertThat(run.channel.isOpen()).isFalse();
        run.finish(); // paranoid leak detection reports the partial message if it were kept
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
