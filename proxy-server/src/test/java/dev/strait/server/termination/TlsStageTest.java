package dev.strait.server.termination;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.TlsConfig;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.EngineHandshake;
import dev.strait.server.support.RecordingStageHost;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import dev.strait.server.tls.ServerTls;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslHandler;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS stage's handlers: a route with one certificate terminates with an SslHandler alone (no SNI handler to parse
 * the ClientHello and swap itself out) and still records the name the client asked for; a route with several picks
 * the certificate by SNI. A JDK client engine talks to the stage over EmbeddedChannel, no socket.
 */
class TlsStageTest {
    @TempDir
    static Path dir;

    static ServerTls oneCertificate;
    static ServerTls twoCertificates;
    static SSLContext client;

    @BeforeAll
    static void certificates() throws Exception {
        TestPki.DbServer db = TestPki.dbServer(dir);
        Issued cache = db.pki().issue("cache", "cache.test", KeyForm.PKCS8_EC, "cache.test");
        TlsConfig one = db.tls();
        oneCertificate = ServerTls.load("one", one);
        twoCertificates = ServerTls.load(
                "two",
                new TlsConfig(
                        List.of(one.certificates().get(0), new TlsConfig.Certificate(cache.cert(), cache.key())),
                        one.protocols(),
                        one.clientAuth(),
                        one.clientCa(),
                        one.alpn(),
                        one.handshakeTimeout(),
                        one.provider(),
                        false));
        client = db.client();
    }

    @Test
    void aRouteWithOneCertificateHasNoSniHandlerAndStillRecordsTheName() throws Exception {
        Run run = new Run(oneCertificate);
        assertThat(run.channel.pipeline().get(SniHandler.class)).isNull();
        assertThat(run.channel.pipeline().get(SslHandler.class)).isNotNull();

        SSLEngine engine = run.handshake("db.test");

        assertThat(subject(engine)).contains("CN=db.test");
        TlsSessionInfo info = run.channel.attr(TlsSessionInfo.KEY).get();
        assertThat(info.sni()).isEqualTo("db.test");
        assertThat(info.protocol()).isEqualTo("TLSv1.3");
        assertThat(run.tail.events).as("handed over").contains(PreRelayStage.START);
        assertThat(run.host.closed).isNull();
        run.finish();
    }

    @Test
    void aRouteWithSeveralCertificatesPicksOneBySni() throws Exception {
        for (String name : List.of("db.test", "cache.test")) {
            Run run = new Run(twoCertificates);
            assertThat(run.channel.pipeline().get(SniHandler.class)).isNotNull();

            SSLEngine engine = run.handshake(name);

            assertThat(subject(engine)).contains("CN=" + name);
            assertThat(run.channel.attr(TlsSessionInfo.KEY).get().sni()).isEqualTo(name);
            assertThat(run.channel.pipeline().get(SniHandler.class)).isNull();
            assertThat(run.tail.events).as("handed over").contains(PreRelayStage.START);
            run.finish();
        }
    }

    @Test
    void garbageInsteadOfAClientHelloClosesWithTlsErrorOnBothPaths() {
        for (ServerTls tls : List.of(oneCertificate, twoCertificates)) {
            Run run = new Run(tls);
            run.channel.writeInbound(Unpooled.wrappedBuffer("GET / HTTP/1.1\r\n\r\n".getBytes()));
            assertThat(run.host.closed)
                    .as(tls.entries().size() + " certificate(s)")
                    .isEqualTo(CloseCause.TLS_ERROR);
            run.finish();
        }
    }

    @Test
    void aConnectionClosedMidHandshakeForAnotherReasonKeepsThatCauseAndCountsNoFailure() throws Exception {
        for (ServerTls tls : List.of(oneCertificate, twoCertificates)) {
            Run run = new Run(tls);
            SSLEngine engine = client.createSSLEngine("db.test", 443);
            engine.setUseClientMode(true);
            engine.beginHandshake();
            ByteBuffer hello = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(ByteBuffer.allocate(0), hello);
            hello.flip();
            run.channel.writeInbound(Unpooled.copiedBuffer(hello)); // the ClientHello, then nothing
            assertThat(run.answered()).as("the server's first flight").isNotEmpty();

            run.host.close(CloseCause.TLS_HANDSHAKE_TIMEOUT); // the stage's deadline, as the connection runs it

            assertThat(run.host.closed).isEqualTo(CloseCause.TLS_HANDSHAKE_TIMEOUT);
            assertThat(run.failures)
                    .as(tls.entries().size() + " certificate(s)")
                    .isZero();
            run.finish();
        }
    }

    private static String subject(SSLEngine engine) throws Exception {
        return ((X509Certificate) engine.getSession().getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName();
    }

    /** One client connection: the TLS stage (and the handler it adds) and a tail. */
    private static final class Run {
        final RecordingStageHost host = new RecordingStageHost();
        final Tail tail = new Tail();
        final EmbeddedChannel channel = new EmbeddedChannel();
        int failures;

        Run(ServerTls tls) {
            host.channel = channel;
            channel.pipeline().addLast("tls", new TlsStage(tls, Duration.ofSeconds(10), () -> failures++, host));
            channel.pipeline().addLast("tail", tail);
            channel.pipeline().fireUserEventTriggered(PreRelayStage.START);
        }

        /** A JDK client's handshake asking for {@code name}; returns its engine once it has finished. */
        SSLEngine handshake(String name) throws Exception {
            SSLEngine engine = client.createSSLEngine(name, 443);
            engine.setUseClientMode(true);
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName(name)));
            engine.setSSLParameters(parameters);
            EngineHandshake.run(engine, flight -> channel.writeInbound(Unpooled.wrappedBuffer(flight)), this::answered);
            assertThat(engine.getHandshakeStatus()).as("finished").isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
            return engine;
        }

        /** Everything written to the client, released. */
        byte[] answered() {
            return Bytes.drainOutbound(channel);
        }

        void finish() {
            answered();
            channel.finishAndReleaseAll();
            assertThat(host.routed).as("routed").isFalse();
            assertThat(host.serverName).as("a server name reported").isNull();
        }
    }

    /** What reaches the end of the pipeline: the events, and any plaintext (released). */
    private static final class Tail extends ChannelInboundHandlerAdapter {
        final List<Object> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }
    }
}
