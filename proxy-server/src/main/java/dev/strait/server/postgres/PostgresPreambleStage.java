package dev.strait.server.postgres;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Route;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import dev.strait.server.termination.TlsStage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Reads PostgreSQL's preamble in front of the TLS stage on a route with {@code protocol: postgres} and {@code tls},
 * answering as a PostgreSQL server with only {@code hostssl} lines would:
 *
 * <ul>
 *   <li>{@code SSLRequest}: answered {@code S}, not passed on; the TLS stage does the handshake next.
 *   <li>A TLS ClientHello first (PostgreSQL 17's direct TLS): passed to the TLS stage as it came, which must then
 *       negotiate ALPN {@code postgresql} or close the connection ({@code tls_error}), as PostgreSQL does.
 *   <li>{@code GSSENCRequest}: answered {@code N} (no GSS encryption here), and the preamble is read again; a second
 *       one closes the connection ({@code protocol_error}).
 *   <li>Bytes after an {@code SSLRequest} or {@code GSSENCRequest}, before the answer: closed ({@code protocol_error},
 *       the CVE-2021-23214 pattern: they would otherwise be taken as sent inside TLS).
 *   <li>A plaintext {@code CancelRequest}: passed on to the backend without TLS (libpq before 17 sends cancels so);
 *       the TLS stage is taken out of this connection's pipeline. A cancel carries no credentials, only the key the
 *       backend handed the session it cancels.
 *   <li>A plaintext startup message: read whole, answered with a {@code FATAL} error ({@code 28000}, "TLS (SSL) is
 *       required", what a server without a matching {@code host}/{@code hostnossl} line answers), and closed
 *       ({@code tls_required}).
 *   <li>Anything else (a length no PostgreSQL server accepts): closed ({@code protocol_error}).
 * </ul>
 *
 * <p>Its deadline is the route's {@code tls.handshakeTimeout} ({@code tls_handshake_timeout}, counted in {@code
 * strait_tls_handshake_timeouts_total} as a stalled handshake is: to the client it is all one TLS setup); the
 * handshake that follows gets its own. Every close is logged once, at info, with both addresses and the reason.
 * Thread model: the client's event loop only.
 */
public final class PostgresPreambleStage extends PreRelayStage {
    private static final Logger log = LogManager.getLogger(PostgresPreambleStage.class);
    /** The {@code FATAL} a plaintext startup gets. */
    static final String TLS_REQUIRED_MESSAGE = "TLS (SSL) is required: connect with sslmode=require or stronger";

    private final String route;
    private ByteBuf seen; // what was read of the current message; passed on whole when it goes on
    private boolean refusedGss;
    private boolean done;

    /**
     * @param route the route's name, for logs
     * @param deadline how long the client may take to say what it wants
     */
    public PostgresPreambleStage(String route, Duration deadline, StageHost host) {
        super("postgres", deadline, CloseCause.TLS_HANDSHAKE_TIMEOUT, host);
        this.route = requireNonNull(route, "route");
    }

    /** The stage's factory. */
    public static PreRelayStage.Factory factory(String route, Duration deadline) {
        return host -> new PostgresPreambleStage(route, deadline, host);
    }

    @Override
    protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
        if (done) {
            msg.release(); // closing: nothing more goes anywhere
            return;
        }
        if (seen == null) {
            seen = ctx.alloc().heapBuffer(Math.max(64, msg.readableBytes()));
        }
        if (seen.readableBytes() + msg.readableBytes() > PostgresPreamble.MAX_STARTUP + 8) {
            msg.release();
            close(ctx, CloseCause.PROTOCOL_ERROR, "a first message longer than PostgreSQL accepts");
            return;
        }
        seen.writeBytes(msg);
        msg.release();
        decide(ctx);
    }

    private void decide(ChannelHandlerContext ctx) {
        PostgresPreamble.Message first = PostgresPreamble.read(seen);
        switch (first.kind()) {
            case NEED_MORE -> {}
            case DIRECT_TLS -> {
                // As PostgreSQL 17: direct TLS must negotiate ALPN postgresql, so that another protocol's client
                // (an HTTPS request sent here) cannot be taken for a PostgreSQL one.
                TlsStage.requireAlpn(ctx.pipeline(), Route.POSTGRES_ALPN, "a direct TLS handshake");
                passOn();
            }
            case SSL_REQUEST, GSSENC_REQUEST -> answer(ctx, first);
            case CANCEL_REQUEST -> {
                TlsStage.removeFrom(ctx.pipeline()); // a plaintext cancel goes on in plaintext
                passOn();
            }
            case STARTUP -> {
                if (first.whole()) {
                    refuseStartup(ctx, first);
                }
            }
            case INVALID -> close(
                    ctx,
                    CloseCause.PROTOCOL_ERROR,
                    "a first message of length " + first.length() + " with code " + first.code());
        }
    }

    private void answer(ChannelHandlerContext ctx, PostgresPreamble.Message request) {
        String name = PostgresPreamble.name(request.kind());
        if (request.trailing()) {
            close(ctx, CloseCause.PROTOCOL_ERROR, "bytes after the " + name + " before its answer");
            return;
        }
        seen.clear();
        if (request.kind() == PostgresPreamble.Kind.GSSENC_REQUEST) {
            if (refusedGss) {
                close(ctx, CloseCause.PROTOCOL_ERROR, "a second GSSENCRequest");
                return;
            }
            refusedGss = true;
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'})); // SSLRequest, ClientHello or startup next
            return;
        }
        // S goes out ahead of the TLS stage's handlers, so in plaintext; the ClientHello can only follow it.
        ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
        releaseSeen();
        done = true;
        handOver();
    }

    /** The client's bytes go on as they came (the ClientHello to the TLS stage, a cancel to the backend). */
    private void passOn() {
        ByteBuf all = seen;
        seen = null;
        done = true;
        hold(all);
        handOver();
    }

    private void refuseStartup(ChannelHandlerContext ctx, PostgresPreamble.Message startup) {
        done = true;
        releaseSeen(); // read whole, so that the close is a FIN: unread bytes would make it a reset
        log.info(
                "client {} -> {} (route {}): a plaintext PostgreSQL startup message (protocol {}.{}) where TLS is"
                        + " required; refused",
                ctx.channel().remoteAddress(),
                ctx.channel().localAddress(),
                route,
                startup.code() >>> 16,
                startup.code() & 0xffff);
        ctx.writeAndFlush(fatal(ctx, "28000", TLS_REQUIRED_MESSAGE))
                .addListener((ChannelFutureListener) f -> fail(CloseCause.TLS_REQUIRED));
    }

    private void close(ChannelHandlerContext ctx, CloseCause cause, String why) {
        done = true;
        releaseSeen();
        log.info(
                "client {} -> {} (route {}): {} in PostgreSQL's preamble; closing",
                ctx.channel().remoteAddress(),
                ctx.channel().localAddress(),
                route,
                why);
        fail(cause);
    }

    /** PostgreSQL's ErrorResponse with severity FATAL. */
    static ByteBuf fatal(ChannelHandlerContext ctx, String sqlState, String message) {
        ByteBuf out = ctx.alloc().buffer(64 + message.length());
        out.writeByte('E');
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        field(out, 'S', "FATAL");
        field(out, 'V', "FATAL");
        field(out, 'C', sqlState);
        field(out, 'M', message);
        out.writeByte(0);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        return out;
    }

    private static void field(ByteBuf out, char type, String value) {
        out.writeByte(type);
        out.writeCharSequence(value, StandardCharsets.UTF_8);
        out.writeByte(0);
    }

    /** A FIN before the client said what it wants: nothing to pass on. */
    @Override
    protected void finished(ChannelHandlerContext ctx) {
        if (!done) {
            done = true;
            releaseSeen();
            fail(CloseCause.CLIENT_CLOSE);
        }
    }

    private void releaseSeen() {
        if (seen != null) {
            seen.release();
            seen = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseSeen();
        super.handlerRemoved(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseSeen();
        super.channelInactive(ctx);
    }
}
