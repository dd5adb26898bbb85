package dev.strait.server.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Strait's patched {@code io.netty.handler.ssl.ReferenceCountedOpenSslEngine}: the class that loads is the patched
 * copy, and a server engine that receives a TLS 1.3 close_notify closes its inbound side only and goes on encrypting
 * (RFC 8446 section 6.1), while on TLS 1.2 it answers with its own close_notify and ends both (RFC 5246 section
 * 7.2.1). Two channels with Netty's SslHandler talk through EmbeddedChannel, no socket.
 */
class OpenSslHalfCloseTest {
    @TempDir
    static Path dir;

    static TestPki pki;
    static Issued server;

    @BeforeAll
    static void certificates() throws Exception {
        assertThat(OpenSsl.isAvailable())
                .as("netty-tcnative loads on this machine: %s", OpenSsl.unavailabilityCause())
                .isTrue();
        pki = TestPki.create(dir, "ca");
        server = pki.issue("server", "server.test", KeyForm.PKCS8_EC, "server.test");
    }

    @Test
    void theEngineThatLoadsIsStraitsPatchedCopy() throws Exception {
        Class<?> engine = Class.forName("io.netty.handler.ssl.ReferenceCountedOpenSslEngine");
        Method marker = engine.getDeclaredMethod("straitTls13HalfClose");
        marker.setAccessible(true);

        assertThat(marker.invoke(null)).isEqualTo(true);
        assertThat(engine.getProtectionDomain().getCodeSource().getLocation().toString())
                .as("where the engine class was loaded from")
                .doesNotContain("netty-handler");
    }

    /** The client's engine is either provider's; the server's is the patched OpenSSL one. */
    @ParameterizedTest
    @EnumSource(names = {"OPENSSL", "JDK"})
    void aTls13CloseNotifyClosesTheServersInboundOnlyAndTheAnswerStillGoesOut(SslProvider clientProvider)
            throws Exception {
        Pair pair = handshake("TLSv1.3", clientProvider);
        try {
            String before = "0123456789abcdef".repeat(4096);
            pair.serverChannel.writeAndFlush(ascii(before));
            pair.shuttle();
            assertThat(pair.received().length()).as("before").isEqualTo(before.length());
            pair.clientSsl().closeOutbound(); // close_notify, the TCP connection stays open
            pair.shuttle();

            assertThat(pair.server.isInboundDone()).as("server inbound done").isTrue();
            assertThat(pair.server.isOutboundDone()).as("server outbound done").isFalse();
            assertThat(pair.serverChannel.isOpen()).isTrue();

            pair.serverChannel.writeAndFlush(ascii("the answer after the close_notify"));
            pair.shuttle();
            assertThat(pair.received()).isEqualTo("the answer after the close_notify");

            // and a long answer: many records, more than one wrap's worth
            String chunk = "0123456789abcdef".repeat(4096); // 64 KiB
            for (int i = 0; i < 16; i++) {
                pair.serverChannel.write(ascii(chunk));
                pair.serverChannel.flush();
                pair.shuttle();
                assertThat(pair.received().length())
                        .as("chunk %d after the close_notify", i)
                        .isEqualTo(chunk.length());
            }

            pair.serverSsl().closeOutbound();
            pair.shuttle();
            assertThat(pair.server.isOutboundDone()).isTrue();
            assertThat(pair.client.isInboundDone()).isTrue();
        } finally {
            pair.finish();
        }
    }

    /**
     * The other way round: the server (Strait, whose backend sent its FIN) sends its close_notify first, and the client
     * goes on sending on TLS 1.3. The server engine must keep decrypting, and its SslHandler must not report the
     * connection's inbound end (an SslCloseCompletionEvent) before the client's own close_notify.
     */
    @ParameterizedTest
    @EnumSource(names = {"OPENSSL", "JDK"})
    void afterTheServersCloseNotifyTheClientsBytesStillArriveOnTls13(SslProvider clientProvider) throws Exception {
        Pair pair = handshake("TLSv1.3", clientProvider);
        try {
            pair.serverSsl().closeOutbound();
            pair.shuttle();
            assertThat(pair.server.isOutboundDone()).as("server outbound done").isTrue();
            assertThat(pair.client.isInboundDone()).as("client inbound done").isTrue();

            String chunk = "fedcba9876543210".repeat(4096); // 64 KiB, several records
            for (int i = 0; i < 4; i++) {
                pair.clientChannel.writeAndFlush(ascii(chunk));
                pair.shuttle();
                assertThat(pair.serverReceived().length())
                        .as("client chunk %d after the server's close_notify", i)
                        .isEqualTo(chunk.length());
            }
            assertThat(pair.serverEvents).as("events the server's pipeline saw").isEmpty();
            assertThat(pair.server.isInboundDone()).isFalse();

            pair.clientSsl().closeOutbound();
            pair.shuttle();
            assertThat(pair.server.isInboundDone()).isTrue();
            assertThat(pair.serverEvents).hasSize(1);
        } finally {
            pair.finish();
        }
    }

    @Test
    void aTls12CloseNotifyStillEndsBothDirections() throws Exception {
        Pair pair = handshake("TLSv1.2", SslProvider.OPENSSL);
        try {
            pair.clientSsl().closeOutbound();
            pair.shuttle();

            assertThat(pair.server.isInboundDone()).isTrue();
            assertThat(pair.server.isOutboundDone()).as("server outbound done").isTrue();
        } finally {
            pair.finish();
        }
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    private static Pair handshake(String protocol, SslProvider clientProvider) throws Exception {
        SslContext serverContext = SslContextBuilder.forServer(
                        server.cert().toFile(), server.key().toFile())
                .sslProvider(SslProvider.OPENSSL)
                .protocols(protocol)
                .build();
        SslContext clientContext = SslContextBuilder.forClient()
                .sslProvider(clientProvider)
                .trustManager(pki.caCert().toFile())
                .protocols(protocol)
                .build();
        SSLEngine client = clientContext.newEngine(ByteBufAllocator.DEFAULT, "server.test", 443);
        SSLEngine server = serverContext.newEngine(ByteBufAllocator.DEFAULT);
        assertThat(Class.forName("io.netty.handler.ssl.ReferenceCountedOpenSslEngine"))
                .as("the server engine's class %s", server.getClass())
                .matches(engine -> engine.isInstance(server));
        Pair pair = new Pair(client, server);
        for (int i = 0; i < 20 && !pair.clientSsl().handshakeFuture().isDone(); i++) {
            pair.shuttle();
        }
        assertThat(pair.clientSsl().handshakeFuture().isSuccess()).isTrue();
        assertThat(pair.serverSsl().handshakeFuture().isSuccess()).isTrue();
        assertThat(server.getSession().getProtocol()).isEqualTo(protocol);
        return pair;
    }

    /** Two channels with an SslHandler each, and the bytes between them moved by hand. */
    private static final class Pair {
        final SSLEngine client;
        final SSLEngine server;
        final EmbeddedChannel clientChannel;
        final EmbeddedChannel serverChannel;
        /** The SslCloseCompletionEvents the server's pipeline saw: each is "the client's input ended" to the relay. */
        final List<Object> serverEvents = new ArrayList<>();

        Pair(SSLEngine client, SSLEngine server) {
            this.client = client;
            this.server = server;
            this.clientChannel = new EmbeddedChannel(new SslHandler(client));
            this.serverChannel = new EmbeddedChannel(new SslHandler(server), new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof SslCloseCompletionEvent) {
                        serverEvents.add(evt);
                    }
                }
            });
        }

        SslHandler clientSsl() {
            return clientChannel.pipeline().get(SslHandler.class);
        }

        SslHandler serverSsl() {
            return serverChannel.pipeline().get(SslHandler.class);
        }

        /** Moves what each side wrote to the other until neither has anything left to send. */
        void shuttle() {
            for (int i = 0; i < 20; i++) {
                boolean moved = move(clientChannel, serverChannel) | move(serverChannel, clientChannel);
                if (!moved) {
                    return;
                }
            }
        }

        private static boolean move(EmbeddedChannel from, EmbeddedChannel to) {
            boolean moved = false;
            for (ByteBuf out; (out = from.readOutbound()) != null; ) {
                moved = true;
                if (to.isOpen()) {
                    to.writeInbound(out);
                } else {
                    out.release();
                }
            }
            return moved;
        }

        /** The plaintext the client's channel read, as text. */
        String received() {
            return readText(clientChannel);
        }

        /** The plaintext the server's channel read, as text. */
        String serverReceived() {
            return readText(serverChannel);
        }

        private static String readText(EmbeddedChannel channel) {
            StringBuilder text = new StringBuilder();
            for (ByteBuf in; (in = channel.readInbound()) != null; ) {
                text.append(in.toString(StandardCharsets.US_ASCII));
                in.release();
            }
            return text.toString();
        }

        void finish() {
            clientChannel.finishAndReleaseAll();
            serverChannel.finishAndReleaseAll();
        }
    }
}
