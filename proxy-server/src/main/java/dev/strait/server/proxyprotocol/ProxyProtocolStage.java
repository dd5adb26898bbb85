package dev.strait.server.proxyprotocol;

import static java.util.Objects.requireNonNull;

import dev.strait.proxyprotocol.ProxyHeader;
import dev.strait.proxyprotocol.ProxyHeaderException;
import dev.strait.proxyprotocol.ProxyHeaderParser;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Reads the PROXY protocol header (v1 or v2) a trusted load balancer sends first, and makes the client it names the
 * connection's client, before admission: the gate, balancing, {@code /connections}, logs and a header sent on see it.
 *
 * <p>Flow: the bytes read so far are gathered until {@link ProxyHeaderParser} has a whole header; the bytes that came
 * after it in the same read are held and reach the backend first, byte-exact. A v2 {@code LOCAL} or v1
 * {@code UNKNOWN} header keeps the TCP addresses. It hands over with {@link PreRelayStage#IDENTIFIED}, so the
 * connector admits the client before any later stage runs.
 *
 * <p>Failure: a header that cannot be valid closes the connection at once with {@code proxy_protocol_error} (counted
 * by reason), as does a FIN before the header is whole ({@code truncated}); a header not whole within
 * {@code proxyProtocol.headerTimeout} closes it with {@code proxy_protocol_timeout}. No byte reaches a backend: none is
 * chosen until the stage hands over. What it gathered is released on every path.
 *
 * <p>Thread model: the client's event loop only.
 */
public final class ProxyProtocolStage extends PreRelayStage {
    public static final String NAME = "proxy-protocol";
    private static final Logger log = LogManager.getLogger(ProxyProtocolStage.class);

    private final StageHost host;
    private final Consumer<String> errors;
    private ByteBuf gathered;

    /**
     * @param headerTimeout how long the peer has to send the whole header
     * @param errors told the reason of each header refused (the route's {@code strait_proxy_protocol_errors_total})
     */
    public ProxyProtocolStage(Duration headerTimeout, StageHost host, Consumer<String> errors) {
        super(NAME, headerTimeout, CloseCause.PROXY_PROTOCOL_TIMEOUT, host);
        this.host = host;
        this.errors = requireNonNull(errors, "errors");
    }

    /** The route's factory for this stage. */
    public static Factory factory(Duration headerTimeout, Consumer<String> errors) {
        requireNonNull(headerTimeout, "headerTimeout");
        requireNonNull(errors, "errors");
        return host -> new ProxyProtocolStage(headerTimeout, host, errors);
    }

    @Override
    protected boolean beforeAdmission() {
        return true;
    }

    @Override
    protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
        gathered = gathered == null ? msg : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), gathered, msg);
        ProxyHeader header;
        try {
            header = ProxyHeaderParser.parse(gathered);
        } catch (ProxyHeaderException e) {
            refuse(ctx, e.reason(), e.getMessage());
            return;
        }
        if (header == null) {
            return; // the base class asks for the next read
        }
        ByteBuf payload = gathered.skipBytes(header.length());
        gathered = null;
        if (header.namesClient()) {
            host.identified(header.source(), header.destination());
        }
        if (payload.isReadable()) {
            hold(payload); // came with the header: reaches the backend first
        } else {
            payload.release();
        }
        handOver();
    }

    @Override
    protected void finished(ChannelHandlerContext ctx) {
        refuse(ctx, "truncated", "the peer's FIN came before the whole header");
    }

    private void refuse(ChannelHandlerContext ctx, String reason, String why) {
        release();
        errors.accept(reason);
        log.debug("frontend {}: bad PROXY protocol header ({}); closing", ctx.channel(), why);
        fail(CloseCause.PROXY_PROTOCOL_ERROR);
    }

    private void release() {
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
        super.handlerRemoved(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        super.channelInactive(ctx);
    }
}
