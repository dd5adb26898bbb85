package dev.strait.server.termination;

import static java.util.Objects.requireNonNull;

import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import dev.strait.server.tls.ServerTls;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Terminates the client's TLS: when added, it puts an {@link SslHandler} in front of itself that stays for the
 * connection's life (so no direction of a TLS route ever splices: the relay sees plaintext only through it). A route
 * with several certificates gets an {@link SniHandler} there instead, which picks the certificate by the client's SNI
 * and replaces itself with that SslHandler; a route with one has nothing to choose, so it skips the SNI handler's
 * ClientHello parse and handler swap (the engine still records the name the client asked for). Either takes the
 * route's current certificate (a reload applies to the next connection). On its
 * turn the stage reads until the handshake completes, holds any plaintext the client sent early, records what was
 * negotiated on the channel ({@link TlsSessionInfo#KEY}) and hands over once the rest of that read is done, so that
 * a client gone right after its handshake costs no backend connection.
 *
 * <p>A failed handshake (garbage, no shared version or cipher, a client certificate refused, or no ALPN where a
 * stage before it required one with {@link #requireAlpn}) closes the connection with {@code tls_error}; the stage's
 * deadline ({@code tls.handshakeTimeout}) with {@code tls_handshake_timeout}. Either is logged once, with the
 * client's address and the reason, without a stack trace; a failure is counted here, a timeout by the close path from
 * its cause.
 *
 * <p>Thread model: the client's event loop only.
 */
public final class TlsStage extends PreRelayStage {
    private static final Logger log = LogManager.getLogger(TlsStage.class);

    /**
     * Told of each failed handshake. A timed-out one is counted by the connection's close path, from its cause
     * ({@code tls_handshake_timeout}).
     */
    @FunctionalInterface
    public interface Outcomes {
        void handshakeFailed();
    }

    private final ServerTls tls;
    private final Outcomes outcomes;
    private final Duration timeout;
    private String requiredAlpn; // null: any ALPN outcome, none included
    private String requiredBy;
    private boolean handshaken;
    private boolean turn;
    private boolean ended;
    private boolean removed;
    private long turnNanos;

    public TlsStage(ServerTls tls, Duration timeout, Outcomes outcomes, StageHost host) {
        super("tls", timeout, CloseCause.TLS_HANDSHAKE_TIMEOUT, host);
        this.tls = requireNonNull(tls, "tls");
        this.outcomes = requireNonNull(outcomes, "outcomes");
        this.timeout = timeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        super.handlerAdded(ctx);
        List<ServerTls.Entry> certificates = tls.entries();
        if (certificates.size() == 1) {
            SslHandler ssl = certificates.get(0).context().newHandler(ctx.alloc());
            ssl.setHandshakeTimeoutMillis(0); // the stage's deadline applies
            ctx.pipeline().addBefore(ctx.name(), "ssl", ssl);
        } else {
            ctx.pipeline().addBefore(ctx.name(), "sni", new Sni(tls));
        }
    }

    /**
     * Takes the TLS stage, and the handler it put in front of itself, out of a connection that stays plaintext (a
     * PostgreSQL CancelRequest). Only before the stage's turn, when that handler has seen no byte; nothing if absent.
     */
    public static void removeFrom(ChannelPipeline pipeline) {
        TlsStage stage = pipeline.get(TlsStage.class);
        if (stage == null) {
            return;
        }
        stage.removed = true; // the SslHandler's "removed before the handshake" events stop at the stage
        if (pipeline.get(Sni.class) != null) {
            pipeline.remove(Sni.class);
        }
        if (pipeline.get(SslHandler.class) != null) {
            pipeline.remove(SslHandler.class);
        }
        pipeline.remove(stage);
    }

    /**
     * Makes this connection's handshake count as failed ({@code tls_error}) unless ALPN selected {@code protocol}:
     * PostgreSQL's rule for a direct TLS connection, against cross-protocol attacks. Only before the handshake has
     * finished; {@code what} names the connection in the log line (e.g. "a direct TLS handshake").
     */
    public static void requireAlpn(ChannelPipeline pipeline, String protocol, String what) {
        TlsStage stage = pipeline.get(TlsStage.class);
        if (stage == null || stage.handshaken) {
            throw new IllegalStateException("no TLS stage before its handshake to require ALPN " + protocol);
        }
        stage.requiredAlpn = requireNonNull(protocol, "protocol");
        stage.requiredBy = requireNonNull(what, "what");
    }

    /** Early plaintext (TLS 1.3 lets the client send right after its Finished): passed on after the hand-over. */
    @Override
    protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
        hold(msg);
    }

    /** A FIN before the handshake finished: nothing to relay. */
    @Override
    protected void finished(ChannelHandlerContext ctx) {
        if (handshaken) {
            handOver();
        } else {
            ended = true;
            fail(CloseCause.CLIENT_CLOSE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (removed && (evt instanceof SslHandshakeCompletionEvent || evt instanceof SslCloseCompletionEvent)) {
            return; // from an SslHandler taken out before it saw a byte (removeFrom)
        }
        if (evt instanceof SslHandshakeCompletionEvent done) {
            handshake(ctx, done);
        } else if (evt instanceof SniCompletionEvent) {
            return; // the handshake's own event follows and says how it went
        } else {
            super.userEventTriggered(ctx, evt);
            if (evt == START && !turn) {
                turn = true;
                turnNanos = System.nanoTime();
                if (handshaken) {
                    handOver();
                }
            }
        }
    }

    private void handshake(ChannelHandlerContext ctx, SslHandshakeCompletionEvent done) {
        if (ended) {
            return;
        }
        if (!done.isSuccess()) {
            if (!ctx.channel().isActive()) {
                // "closed while the handshake was in progress": the connection ended for another reason first (a
                // timeout, an earlier stage, the client), which is its cause; not a TLS failure
                return;
            }
            ended = true;
            outcomes.handshakeFailed();
            log.info(
                    "client {} -> {}: TLS handshake failed: {}",
                    ctx.channel().remoteAddress(),
                    ctx.channel().localAddress(),
                    reason(done.cause()));
            fail(CloseCause.TLS_ERROR);
            return;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (requiredAlpn != null) {
            String selected = ssl == null ? null : ssl.applicationProtocol();
            if (!requiredAlpn.equals(selected)) {
                ended = true;
                outcomes.handshakeFailed();
                log.info(
                        "client {} -> {}: {} without ALPN protocol {} (selected: {}); closed",
                        ctx.channel().remoteAddress(),
                        ctx.channel().localAddress(),
                        requiredBy,
                        requiredAlpn,
                        selected == null ? "none" : selected);
                fail(CloseCause.TLS_ERROR);
                return;
            }
        }
        if (ssl != null) {
            ctx.channel()
                    .attr(TlsSessionInfo.KEY)
                    .set(TlsSessionInfo.of(
                            ssl.engine().getSession(),
                            ssl.applicationProtocol(),
                            ssl.engine().getNeedClientAuth() || ssl.engine().getWantClientAuth()));
        }
        handshaken = true;
        if (turn) {
            handOverAfterThisRead(ctx);
        }
    }

    /**
     * Hands over one task later, once the read that finished the handshake is done. A client that leaves right after
     * its handshake (a TLS health check, {@code openssl s_time}) has usually sent its reset by then, in the same read:
     * the connection is closed before any backend is dialed for it, as HAProxy does. A live client loses no time: the
     * task runs before the loop next waits. Bytes or a FIN that arrive meanwhile are held, or hand over at once.
     */
    private void handOverAfterThisRead(ChannelHandlerContext ctx) {
        try {
            ctx.executor().execute(() -> {
                if (!ended && ctx.channel().isActive()) {
                    handOver();
                }
            });
        } catch (RejectedExecutionException shuttingDown) {
            handOver();
        }
    }

    /** The exception that comes with a failed handshake was reported with it; others end the connection too. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException || cause instanceof SSLException) {
            if (!ended) {
                ended = true;
                outcomes.handshakeFailed();
                log.info(
                        "client {} -> {}: TLS handshake failed: {}",
                        ctx.channel().remoteAddress(),
                        ctx.channel().localAddress(),
                        reason(cause));
                fail(CloseCause.TLS_ERROR);
            }
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!handshaken
                && !ended
                && turn
                && System.nanoTime() - turnNanos
                        >= timeout.toNanos() - Duration.ofMillis(50).toNanos()) {
            ended = true;
            log.info(
                    "client {} -> {}: TLS handshake not finished within {}ms; closed",
                    ctx.channel().remoteAddress(),
                    ctx.channel().localAddress(),
                    timeout.toMillis());
        }
        super.channelInactive(ctx);
    }

    /** The innermost message of {@code cause}: what went wrong, in one line. */
    static String reason(Throwable cause) {
        Throwable t = cause;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String text = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (text.length() > 200) {
            text = text.substring(0, 200) + "...";
        }
        return text.replace('\n', ' ');
    }

    /** Picks the context by SNI; its SslHandler leaves the deadline to the stage. */
    private static final class Sni extends SniHandler {
        Sni(ServerTls tls) {
            super(tls, 0);
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
            SslHandler handler = super.newSslHandler(context, allocator);
            handler.setHandshakeTimeoutMillis(0);
            return handler;
        }
    }
}
