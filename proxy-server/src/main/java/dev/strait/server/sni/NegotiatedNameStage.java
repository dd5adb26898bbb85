package dev.strait.server.sni;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Route;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.lifecycle.StageHost;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.time.Duration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Routes a client by the server name of the TLS handshake Strait terminated ({@code sni} and {@code tls} on one
 * route): runs right after the TLS stage, reads the name it recorded ({@link TlsSessionInfo#KEY}), picks the target as
 * {@link SniStage} does and hands over at once. No name, or no match, goes to the route's default backends, or is
 * closed ({@code no_backend}) when it has none. The backend then gets plaintext (or its own {@code backendTls}), with no
 * greeting: the client's TLS ended here.
 *
 * <p>Each decision is counted in {@code strait_sni_routed_total{route,target,result}}. Thread model: the client's event
 * loop only.
 */
public final class NegotiatedNameStage extends PreRelayStage {
    private static final Logger log = LogManager.getLogger(NegotiatedNameStage.class);
    private static final Duration DEADLINE = Duration.ofSeconds(10); // it decides on its turn: never reached

    private final StageHost host;
    private final SniStage.Settings settings;
    private boolean decided;

    NegotiatedNameStage(StageHost host, SniStage.Settings settings) {
        super("sni-name", DEADLINE, CloseCause.STAGE_TIMEOUT, host);
        this.host = requireNonNull(host, "host");
        this.settings = requireNonNull(settings, "settings");
    }

    /** The stage's factory for {@code route}, which must have {@code sni} and {@code tls}. */
    public static PreRelayStage.Factory factory(Route route, RouteMetrics metrics) {
        SniStage.Settings settings = new SniStage.Settings(
                route.name(),
                new SniMatcher(route.sni()),
                false,
                !route.backends().isEmpty(),
                Duration.ZERO,
                metrics);
        return host -> new NegotiatedNameStage(host, settings);
    }

    /** Plaintext the client sent right after its handshake: passed on after the hand-over. */
    @Override
    protected void read(ChannelHandlerContext ctx, ByteBuf msg) {
        hold(msg);
    }

    /** A FIN right after the handshake: routed all the same (the FIN follows what was held). */
    @Override
    protected void finished(ChannelHandlerContext ctx) {
        if (!decided) {
            decide(ctx);
        } else {
            handOver();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        super.userEventTriggered(ctx, evt);
        if (evt == START && !decided && ctx.channel().isActive()) {
            decide(ctx);
        }
    }

    private void decide(ChannelHandlerContext ctx) {
        decided = true;
        TlsSessionInfo tls = ctx.channel().attr(TlsSessionInfo.KEY).get();
        String name = tls == null ? null : tls.sni();
        if (name != null) {
            host.serverNamed(name); // a v2 PROXY header sent on carries it
        }
        String target = settings.matcher().match(name);
        String result = target != null ? "matched" : name == null ? "no_sni" : "no_match";
        if (target == null && !settings.hasDefault()) {
            settings.metrics().sniRouted("none", result);
            log.debug(
                    "client {} -> {} (route {}): {} and no default backends; closing",
                    ctx.channel().remoteAddress(),
                    ctx.channel().localAddress(),
                    settings.route(),
                    result);
            fail(CloseCause.NO_BACKEND);
            return;
        }
        settings.metrics().sniRouted(target == null ? "default" : target, result);
        host.routeTo(target, null);
        handOver();
    }
}
