package dev.strait.server.backend;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.HealthCheck;
import dev.strait.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Probes every backend of a pool on a timer: a TCP connect, then optionally a request and the start of the expected
 * reply, within the check's timeout. {@code fall} failures in a row take a backend down, {@code rise} successes bring
 * it back; each change is logged once.
 *
 * <p>Thread model: everything runs on one event loop, so the per-backend counters need no locks.
 */
public final class HealthChecker implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(HealthChecker.class);

    private final String route;
    private final HealthCheck check;
    private final BackendPool pool;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final Consumer<Backend> onDown;
    private final Map<Backend, int[]> streaks = new HashMap<>(); // [successes in a row, failures in a row]
    private ScheduledFuture<?> timer;
    private volatile boolean closed;

    /**
     * @param onDown called when a backend goes down (to close its connections when the check says so)
     */
    public HealthChecker(
            String route,
            HealthCheck check,
            BackendPool pool,
            EventLoop loop,
            Transport transport,
            Consumer<Backend> onDown) {
        this.route = requireNonNull(route, "route");
        this.check = requireNonNull(check, "check");
        this.pool = requireNonNull(pool, "pool");
        this.loop = requireNonNull(loop, "loop");
        this.onDown = requireNonNull(onDown, "onDown");
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int)
                        check.timeout().toMillis())
                .option(ChannelOption.SO_LINGER, 0) // a probe ends with a reset: no TIME_WAIT pile-up
                .handler(NoHandler.INSTANCE);
    }

    /** Starts probing: the first round at once, then every interval. */
    public HealthChecker start() {
        timer = loop.scheduleAtFixedRate(this::round, 0, check.interval().toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void round() {
        for (Backend backend : pool.current()) {
            probe(backend).addListener(f -> record(backend, f.isSuccess(), f.cause()));
        }
        streaks.keySet().retainAll(pool.current());
    }

    private Promise<Void> probe(Backend backend) {
        Promise<Void> result = loop.newPromise();
        ChannelFuture connect = bootstrap.connect(backend.address());
        Channel channel = connect.channel();
        ScheduledFuture<?> deadline = loop.schedule(
                () -> {
                    if (result.tryFailure(new java.util.concurrent.TimeoutException(
                            "no answer within " + check.timeout().toMillis() + "ms"))) {
                        channel.close();
                    }
                },
                check.timeout().toMillis(),
                TimeUnit.MILLISECONDS);
        result.addListener(f -> deadline.cancel(false));
        connect.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                result.tryFailure(f.cause());
            } else if (check.expect().isEmpty() && check.send().isEmpty()) {
                result.trySuccess(null);
                channel.close();
            } else {
                converse(channel, result);
            }
        });
        return result;
    }

    private void converse(Channel channel, Promise<Void> result) {
        byte[] expect = check.expect().orElse("").getBytes(StandardCharsets.UTF_8);
        ByteBuf received = channel.alloc().buffer(Math.max(1, expect.length));
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf in = (ByteBuf) msg;
                try {
                    received.writeBytes(in, Math.min(in.readableBytes(), expect.length - received.readableBytes()));
                } finally {
                    in.release();
                }
                if (received.readableBytes() >= expect.length) {
                    finish(ctx);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                finish(ctx);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                result.tryFailure(cause);
                ctx.close();
            }

            @Override
            public void handlerRemoved(ChannelHandlerContext ctx) {
                received.release();
            }

            private void finish(ChannelHandlerContext ctx) {
                byte[] got = new byte[received.readableBytes()];
                received.getBytes(received.readerIndex(), got);
                if (java.util.Arrays.equals(got, expect)) {
                    result.trySuccess(null);
                } else {
                    result.tryFailure(new IllegalStateException("unexpected reply \""
                            + new String(got, StandardCharsets.UTF_8)
                                    .replace("\r", "\\r")
                                    .replace("\n", "\\n")
                            + "\""));
                }
                ctx.close();
            }
        });
        check.send().ifPresent(s -> channel.writeAndFlush(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8)));
        if (expect.length == 0) {
            result.trySuccess(null);
            channel.close();
        }
    }

    private void record(Backend backend, boolean ok, Throwable cause) {
        if (closed || !pool.current().contains(backend)) {
            return;
        }
        int[] streak = streaks.computeIfAbsent(backend, b -> new int[2]);
        if (ok) {
            streak[0]++;
            streak[1] = 0;
            if (!backend.healthy() && streak[0] >= check.rise() && pool.markHealthy(backend)) {
                log.info("route {}: backend {} is UP after {} good checks", route, backend, streak[0]);
            }
        } else {
            streak[1]++;
            streak[0] = 0;
            if (backend.healthy() && streak[1] >= check.fall() && backend.setHealthy(false)) {
                log.warn(
                        "route {}: backend {} is DOWN after {} failed checks ({})",
                        route,
                        backend,
                        streak[1],
                        cause == null ? "unknown" : cause.getMessage());
                if (check.closeOnDown()) {
                    onDown.accept(backend);
                }
            }
        }
    }

    /** The probe bootstrap's placeholder handler, shared by every probe channel. */
    @ChannelHandler.Sharable
    private static final class NoHandler extends ChannelInboundHandlerAdapter {
        static final NoHandler INSTANCE = new NoHandler();
    }

    @Override
    public void close() {
        closed = true;
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }
}
