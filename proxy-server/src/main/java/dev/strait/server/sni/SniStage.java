package dev.strait.server.sni;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.server.lifecycle.BackendGreeting;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import dev.strait.server.postgres.PostgresPreamble;
import dev.strait.server.route.RouteMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Routes a client by the server name of its TLS ClientHello, without terminating TLS: reads until the whole hello has
 * come (at most {@value ClientHelloParser#MAX_HELLO} bytes, within {@code timeouts.clientHello}, else
 * {@code client_hello_timeout}), picks the target, and hands every byte it read over untouched, so the backend gets
 * the hello first and the relay (splice included) does the rest. No SNI, no match, not TLS or a malformed hello go to
 * the route's default backends, or are closed when it has none; a client silent for {@code timeouts.silentClient}
 * (a server-first protocol) goes to the default backends too.
 *
 * <p>With {@code protocol: postgres} it first reads PostgreSQL's preamble ({@link PostgresPreamble}): an {@code SSLRequest} is answered {@code S}
 * here and not passed on (the connector sends its own to the chosen backend and waits for its {@code S}), then the
 * ClientHello is routed as above; a {@code GSSENCRequest} is answered {@code N}; a plaintext startup or a
 * {@code CancelRequest} goes to the default backends; bytes after an SSLRequest or GSSENCRequest in the same read close
 * the connection ({@code protocol_error}, the CVE-2021-23214 pattern). A ClientHello as the first bytes (PostgreSQL
 * 17's direct TLS) is routed as on a plain SNI route.
 *
 * <p>Each decision is counted in {@code strait_sni_routed_total{route,target,result}}. Thread model: the client's event
 * loop only.
 */
public final class SniStage extends PreRelayStage {
    private static final Logger log = LogManager.getLogger(SniStage.class);
    private static final Duration NO_DEADLINE = Duration.ofDays(3650); // timeouts.clientHello 0: no limit

    /** The per-route part: what every connection's stage shares. */
    public record Settings(
            String route,
            SniMatcher matcher,
            boolean postgres,
            boolean hasDefault,
            Duration silent,
            RouteMetrics metrics) {
        public Settings {
            requireNonNull(route, "route");
            requireNonNull(matcher, "matcher");
            requireNonNull(silent, "silent");
            requireNonNull(metrics, "metrics");
        }
    }

    /** The stage's factory for {@code route}, which must have {@code sni}. */
    public static PreRelayStage.Factory factory(Route route, RouteMetrics metrics) {
        Settings settings = new Settings(
                route.name(),
                new SniMatcher(route.sni()),
                route.protocol() == RouteProtocol.POSTGRES,
                !route.backends().isEmpty(),
                route.timeouts().silentClient(),
                metrics);
        Duration deadline = route.timeouts().clientHello().isZero()
                ? NO_DEADLINE
                : route.timeouts().clientHello();
        return host -> new SniStage(host, settings, deadline);
    }

    private enum Phase {
        POSTGRES_PREAMBLE,
        HELLO,
        DONE
    }

    private final Settings settings;
    private final StageHost host;
    private Phase phase;
    private ByteBuf seen; // a copy of what was read, to parse; the originals are held (or pending)
    private List<ByteBuf> pending; // the PostgreSQL preamble's bytes, until it is known whether they go on
    private BackendGreeting greeting;
    private Future<?> silentTimer;
    private ChannelHandlerContext ctx;

    SniStage(StageHost host, Settings settings, Duration deadline) {
        super("sni", deadline, CloseCause.CLIENT_HELLO_TIMEOUT, host);
        this.host = host;
        this.settings = settings;
        this.phase = settings.postgres() ? Phase.POSTGRES_PREAMBLE : Phase.HELLO;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        super.handlerAdded(ctx);
        this.ctx = ctx;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        super.userEventTriggered(ctx, evt);
        if (evt == START
                && phase != Phase.DONE
                && seen == null
                && !settings.silent().isZero()
                && silentTimer == null) {
            silentTimer =
                    ctx.executor().schedule(this::silent, settings.silent().toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void silent() {
        silentTimer = null;
        if (phase != Phase.DONE && (seen == null || seen.readableBytes() == 0) && settings.hasDefault()) {
            decide(null, "silent");
        }
    }

    @Override
    protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
        if (phase == Phase.DONE) {
            hold(msg); // a read that raced the hand-over: passed on in order
            return;
        }
        cancelSilent();
        if (seen == null) {
            seen = ctx.alloc().heapBuffer(Math.max(512, msg.readableBytes()));
        }
        if (seen.readableBytes() + msg.readableBytes() > ClientHelloParser.MAX_HELLO + 8) {
            keep(msg); // no hello is this long: what was read goes on to the default backends as it came
            decideOrClose("error");
            return;
        }
        seen.writeBytes(msg, msg.readerIndex(), msg.readableBytes());
        keep(msg);
        if (phase == Phase.POSTGRES_PREAMBLE) {
            preamble(ctx);
        } else {
            hello();
        }
    }

    /** Holds {@code msg} to pass on; a PostgreSQL preamble's bytes wait until it is known whether they go on. */
    private void keep(ByteBuf msg) {
        if (phase == Phase.POSTGRES_PREAMBLE) {
            if (pending == null) {
                pending = new ArrayList<>(2);
            }
            pending.add(msg);
        } else {
            hold(msg);
        }
    }

    /** PostgreSQL's first message: SSLRequest, GSSENCRequest, CancelRequest or a startup message. */
    private void preamble(ChannelHandlerContext ctx) {
        PostgresPreamble.Message first = PostgresPreamble.read(seen);
        switch (first.kind()) {
            case NEED_MORE -> {}
            case DIRECT_TLS -> {
                phase = Phase.HELLO; // direct TLS: the ClientHello is the first message
                holdPending();
                hello();
            }
            case SSL_REQUEST, GSSENC_REQUEST -> answer(ctx, first);
            default -> {
                holdPending();
                decideOrClose(first.kind() == PostgresPreamble.Kind.CANCEL_REQUEST ? "cancel" : "plaintext");
            }
        }
    }

    /** Answers an SSLRequest {@code S} (its ClientHello comes next) or a GSSENCRequest {@code N}. */
    private void answer(ChannelHandlerContext ctx, PostgresPreamble.Message request) {
        if (request.trailing()) {
            log.info(
                    "frontend {} (route {}): bytes after a PostgreSQL {} before its answer; closing",
                    ctx.channel().remoteAddress(),
                    settings.route(),
                    PostgresPreamble.name(request.kind()));
            settings.metrics().sniRouted("none", "protocol_error");
            done();
            fail(CloseCause.PROTOCOL_ERROR);
            return;
        }
        releasePending();
        seen.clear();
        if (request.kind() == PostgresPreamble.Kind.SSL_REQUEST) {
            greeting = BackendGreeting.POSTGRES_SSL;
            phase = Phase.HELLO;
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
        } else {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'})); // no GSS here: SSL or plaintext next
        }
    }

    private void hello() {
        ClientHelloParser.Result result = ClientHelloParser.parse(seen);
        switch (result.kind()) {
            case NEED_MORE -> {}
            case HELLO -> {
                if (result.serverName() != null) {
                    host.serverNamed(result.serverName()); // a v2 PROXY header sent on carries it
                }
                String target = settings.matcher().match(result.serverName());
                if (target != null) {
                    decide(target, "matched");
                } else {
                    decideOrClose(result.serverName() == null ? "no_sni" : "no_match");
                }
            }
            case NOT_TLS -> {
                if (greeting != null) {
                    // Strait answered S: the client must speak TLS now.
                    settings.metrics().sniRouted("none", "not_tls");
                    done();
                    fail(CloseCause.PROTOCOL_ERROR);
                } else {
                    decideOrClose("not_tls");
                }
            }
            case ERROR -> decideOrClose("error");
        }
    }

    /** To the default backends, or closed when the route has none. */
    private void decideOrClose(String result) {
        if (settings.hasDefault()) {
            decide(null, result);
        } else {
            settings.metrics().sniRouted("none", result);
            log.debug(
                    "frontend {} (route {}): {} and no default backends; closing",
                    ctx.channel().remoteAddress(),
                    settings.route(),
                    result);
            done();
            fail(CloseCause.NO_BACKEND);
        }
    }

    private void decide(String target, String result) {
        settings.metrics().sniRouted(target == null ? "default" : target, result);
        host.routeTo(target, greeting);
        holdPending();
        done();
        handOver();
    }

    @Override
    protected void finished(ChannelHandlerContext ctx) {
        if (phase == Phase.DONE) {
            return;
        }
        cancelSilent();
        decideOrClose(seen == null || seen.readableBytes() == 0 ? "silent" : "error");
    }

    private void holdPending() {
        if (pending != null) {
            pending.forEach(this::hold);
            pending = null;
        }
    }

    private void releasePending() {
        if (pending != null) {
            pending.forEach(ReferenceCountUtil::release);
            pending = null;
        }
    }

    private void done() {
        phase = Phase.DONE;
        cancelSilent();
        if (seen != null) {
            seen.release();
            seen = null;
        }
    }

    private void cancelSilent() {
        if (silentTimer != null) {
            silentTimer.cancel(false);
            silentTimer = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releasePending();
        done();
        super.handlerRemoved(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePending();
        done();
        super.channelInactive(ctx);
    }
}
