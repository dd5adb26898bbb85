package dev.strait.server.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.HealthCheck;
import dev.strait.config.HttpCheck;
import dev.strait.config.PostgresLogin;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Each probe dialog through {@link ProbeHandler} on an {@link EmbeddedChannel}: the request it sends, the replies
 * that count as up or down, replies split across reads, and what it sends before closing.
 */
class ProbeDialogTest {
    private static final InetSocketAddress PATRONI = new InetSocketAddress("127.0.0.1", 8008);

    private final Promise<Verdict> verdict = ImmediateEventExecutor.INSTANCE.newPromise();

    @Test
    void postgresSendsAProtocol3StartupMessageWithTheUserAndDatabase() {
        EmbeddedChannel ch = probe(new PostgresDialog(new PostgresLogin("monitor", "app")));
        ByteBuf startup = ch.readOutbound();
        try {
            assertThat(startup.getInt(0)).as("length").isEqualTo(startup.readableBytes());
            assertThat(startup.getInt(4)).as("protocol 3.0").isEqualTo(196_608);
            assertThat(startup.toString(8, startup.readableBytes() - 8, StandardCharsets.UTF_8))
                    .isEqualTo("user\0monitor\0database\0app\0application_name\0strait-health-check\0\0");
        } finally {
            startup.release();
        }
        ch.close();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void postgresCountsAuthenticationOkAsUpAndSaysTerminateBeforeItsFin() {
        EmbeddedChannel ch = probe(new PostgresDialog(PostgresLogin.DEFAULT));
        release(ch.readOutbound());
        ch.writeInbound(bytes('R', 0, 0, 0, 8));
        assertThat(verdict.isDone())
                .as("a verdict before the auth code has come")
                .isFalse();
        ch.writeInbound(bytes(0, 0, 0, 0));

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("PostgreSQL: authentication ok"));
        ByteBuf terminate = ch.readOutbound();
        assertThat(ByteBufUtil.getBytes(terminate)).isEqualTo(new byte[] {'X', 0, 0, 0, 4});
        terminate.release();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void postgresCountsAPasswordRequestAsUpAndSendsNothingMore() {
        EmbeddedChannel ch = probe(new PostgresDialog(PostgresLogin.DEFAULT));
        release(ch.readOutbound());
        ch.writeInbound(bytes('R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4)); // MD5 with its salt

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("PostgreSQL: asks for authentication"));
        assertThat(ch.<Object>readOutbound())
                .as("no Terminate, which would be logged")
                .isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void postgresCountsAnErrorReplyAsUpAndGivesItsMessage() {
        EmbeddedChannel ch = probe(new PostgresDialog(PostgresLogin.DEFAULT));
        release(ch.readOutbound());
        byte[] fields = "SFATAL\0C28000\0Mrole \"strait\" does not exist\0\0".getBytes(StandardCharsets.UTF_8);
        ByteBuf error =
                Unpooled.buffer().writeByte('E').writeInt(4 + fields.length).writeBytes(fields);
        ch.writeInbound(error.readRetainedSlice(20));
        assertThat(verdict.isDone()).as("a verdict on half an error").isFalse();
        ch.writeInbound(error);

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("PostgreSQL: error reply \"role 'strait' does not exist\""));
        assertThat(ch.<Object>readOutbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void postgresCountsAnythingElseDown() {
        EmbeddedChannel ch = probe(new PostgresDialog(PostgresLogin.DEFAULT));
        release(ch.readOutbound());
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 400 Bad Request\r\n", StandardCharsets.US_ASCII));

        assertThat(verdict.getNow().up()).isFalse();
        assertThat(verdict.getNow().reason()).startsWith("not a PostgreSQL reply: \"HTTP/1.1 400");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void httpSendsAGetWithTheProbedAddressAsHostAndIsUpOnlyOnTheExpectedStatus() {
        EmbeddedChannel ch = probe(new HttpDialog(new HttpCheck("/primary", 200, Optional.empty()), PATRONI));
        ByteBuf request = ch.readOutbound();
        assertThat(request.toString(StandardCharsets.US_ASCII))
                .startsWith("GET /primary HTTP/1.1\r\nHost: 127.0.0.1:8008\r\n")
                .contains("Connection: close\r\n")
                .endsWith("\r\n\r\n");
        request.release();
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 50", StandardCharsets.US_ASCII));
        assertThat(verdict.isDone()).as("a verdict on half a status line").isFalse();
        ch.writeInbound(Unpooled.copiedBuffer("3 Service Unavailable\r\n\r\n", StandardCharsets.US_ASCII));

        assertThat(verdict.getNow()).isEqualTo(Verdict.down("HTTP 503 (expected 200)"));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void httpCountsTheExpectedStatusUpAndSendsTheConfiguredHost() {
        EmbeddedChannel ch = probe(new HttpDialog(new HttpCheck("/primary", 200, Optional.of("db.internal")), PATRONI));
        ByteBuf request = ch.readOutbound();
        assertThat(request.toString(StandardCharsets.US_ASCII)).contains("\r\nHost: db.internal\r\n");
        request.release();
        ch.writeInbound(
                Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", StandardCharsets.US_ASCII));

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("HTTP 200"));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void expectContainsFindsTheStringAcrossReads() {
        EmbeddedChannel ch = probe(tcp("INFO replication\r\n", "", "role:master"));
        release(ch.readOutbound());
        ch.writeInbound(Unpooled.copiedBuffer("$88\r\n# Replication\r\nrole:ma", StandardCharsets.US_ASCII));
        assertThat(verdict.isDone()).isFalse();
        ch.writeInbound(Unpooled.copiedBuffer("ster\r\n", StandardCharsets.US_ASCII));

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("reply contains \"role:master\""));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void expectContainsFailsOnceTheBackendClosesWithoutTheString() {
        EmbeddedChannel ch = probe(tcp("INFO replication\r\nQUIT\r\n", "", "role:master"));
        release(ch.readOutbound());
        ch.writeInbound(Unpooled.copiedBuffer("$88\r\n# Replication\r\nrole:slave\r\n", StandardCharsets.US_ASCII));
        assertThat(verdict.isDone()).isFalse();
        ch.close();

        assertThat(verdict.getNow().up()).isFalse();
        assertThat(verdict.getNow().reason()).startsWith("no \"role:master\" in the first 32 bytes");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void readsAtMost16KiBOfAReplyAndJudgesWhatCame() {
        EmbeddedChannel ch = probe(tcp("", "", "needle"));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[HealthCheck.MAX_REPLY_BYTES + 100]));

        assertThat(verdict.getNow().up()).isFalse();
        assertThat(verdict.getNow().reason()).startsWith("no \"needle\" in the first 16384 bytes");
        ch.close();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void expectFailsOnAReplyThatStartsOtherwise() {
        EmbeddedChannel ch = probe(tcp("PING\r\n", "+PONG", ""));
        release(ch.readOutbound());
        ch.writeInbound(Unpooled.copiedBuffer("-ERR unknown\r\n", StandardCharsets.US_ASCII));

        assertThat(verdict.getNow()).isEqualTo(Verdict.down("unexpected reply \"-ERR unknown\\r\\n\""));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aBareConnectIsUpAtOnce() {
        EmbeddedChannel ch = probe(tcp("", "", ""));

        assertThat(verdict.getNow()).isEqualTo(Verdict.up("connected"));
        assertThat(ch.<Object>readOutbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void sendsAV2ProxyLocalHeaderBeforeTheRequestToABackendThatWantsAHeader() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProbeHandler(tcp("PING\r\n", "+PONG", ""), verdict, false, true));
        ByteBuf header = ch.readOutbound();
        ByteBuf request = ch.readOutbound();
        try {
            assertThat(ByteBufUtil.hexDump(header))
                    .as("the 16-byte v2 LOCAL header: signature, 0x20 (v2, LOCAL), 0x00 (UNSPEC), length 0")
                    .isEqualTo("0d0a0d0a000d0a515549540a20000000");
            assertThat(request.toString(StandardCharsets.UTF_8)).isEqualTo("PING\r\n");
        } finally {
            header.release();
            request.release();
        }
        ch.writeInbound(Unpooled.copiedBuffer("+PONG\r\n", StandardCharsets.UTF_8));
        assertThat(verdict.getNow().up()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void sendsTheLocalHeaderAloneWhenTheCheckIsAConnect() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProbeHandler(tcp("", "", ""), verdict, false, true));
        ByteBuf header = ch.readOutbound();
        try {
            assertThat(header.readableBytes()).isEqualTo(16);
        } finally {
            header.release();
        }
        assertThat(verdict.getNow().up()).isTrue();
        ch.finishAndReleaseAll();
    }

    private EmbeddedChannel probe(ProbeDialog dialog) {
        return new EmbeddedChannel(new ProbeHandler(dialog, verdict, false));
    }

    private static TcpDialog tcp(String send, String expect, String contains) {
        return new TcpDialog(
                send.getBytes(StandardCharsets.UTF_8),
                expect.getBytes(StandardCharsets.UTF_8),
                contains.getBytes(StandardCharsets.UTF_8));
    }

    private static ByteBuf bytes(int... values) {
        ByteBuf buf = Unpooled.buffer(values.length);
        for (int v : values) {
            buf.writeByte(v);
        }
        return buf;
    }

    private static void release(Object msg) {
        if (msg instanceof ByteBuf buf) {
            buf.release();
        }
    }
}
