package dev.strait.server.probe;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HealthCheck;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.transport.ErrorText;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Probes backends for one health check: connects to a backend's address on the check's port, runs the check's dialog,
 * and reports a {@link Verdict} within the check's timeout, never a failed future. The timeout also bounds the
 * orderly close that follows the verdict: the channel is closed when it runs out, whatever the state.
 *
 * <p>Thread model: probe channels live on the given event loop, which is also where the returned futures complete.
 */
public final class Probe {
    private final HealthCheck check;
    private final EventLoop loop;
    private final Bootstrap bootstrap;

    /** Probes from {@code loop} with channels of {@code channelType}. */
    public Probe(HealthCheck check, EventLoop loop, Class<? extends Channel> channelType) {
        this.check = requireNonNull(check, "check");
        this.loop = requireNonNull(loop, "loop");
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int)
                        check.timeout().toMillis());
        if (check.closeWithReset()) {
            b.option(ChannelOption.SO_LINGER, 0);
        }
        this.bootstrap = b;
    }

    /** Where a backend whose traffic goes to {@code traffic} is probed: the same address, on the check's port. */
    public InetSocketAddress target(InetSocketAddress traffic) {
        int port = check.portFor(traffic.getPort());
        if (port == traffic.getPort()) {
            return traffic;
        }
        return traffic.isUnresolved()
                ? InetSocketAddress.createUnresolved(traffic.getHostString(), port)
                : new InetSocketAddress(traffic.getAddress(), port);
    }

    /** Probes the backend at {@code traffic}; the future always succeeds, with an up or a down verdict. */
    public Future<Verdict> run(InetSocketAddress traffic) {
        return run(traffic, false, Optional.empty());
    }

    /**
     * As {@link #run(InetSocketAddress)}. With {@code proxyHeader}, the probe first sends a v2 PROXY {@code LOCAL}
     * header ("not a proxied connection"), so a backend that requires one answers the check as it would a client;
     * through TLS when {@code tls} is given (after the PROXY header, as for a client): the dialog starts once the
     * handshake succeeded, and a failed handshake (an untrusted certificate, a wrong name) is a down verdict with its
     * reason.
     */
    public Future<Verdict> run(
            InetSocketAddress traffic, boolean proxyHeader, Optional<BackendTlsContexts.Target> tls) {
        return run(traffic, proxyHeader, tls, false);
    }

    /**
     * As above; with {@code sslRequestFirst} (a {@code protocol: postgres} route) the TLS handshake starts only once the
     * backend answered PostgreSQL's SSLRequest {@code S}, as for a client's connection; another answer is a down
     * verdict.
     */
    public Future<Verdict> run(
            InetSocketAddress traffic,
            boolean proxyHeader,
            Optional<BackendTlsContexts.Target> tls,
            boolean sslRequestFirst) {
        InetSocketAddress target = target(traffic);
        Promise<Verdict> result = loop.newPromise();
        ProbeHandler handler = new ProbeHandler(
                ProbeDialog.of(check, target), result, check.closeWithReset(), proxyHeader && tls.isEmpty());
        ChannelHandler first = tls.isEmpty()
                ? handler
                : new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (proxyHeader) {
                            ch.pipeline().addLast("proxy-header", new LocalHeaderFirst());
                        }
                        SslHandler ssl = tls.get().newHandler(ch.alloc(), target);
                        ch.pipeline()
                                .addLast("tls", sslRequestFirst ? new SslRequestFirst(ssl) : ssl)
                                .addLast("handshake", new HandshakeGate())
                                .addLast("probe", handler);
                    }
                };
        ChannelFuture connect = bootstrap.clone().handler(first).connect(target);
        Channel channel = connect.channel();
        long timeoutMillis = check.timeout().toMillis();
        ScheduledFuture<?> deadline = loop.schedule(
                () -> {
                    result.trySuccess(Verdict.down("no verdict within " + timeoutMillis + "ms"));
                    channel.close();
                },
                timeoutMillis,
                TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(f -> deadline.cancel(false));
        connect.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                result.trySuccess(Verdict.down(describe(f.cause())));
            }
        });
        return result;
    }

    /**
     * PostgreSQL's SSLRequest before the handshake: sent when connected; an {@code S} puts the {@link SslHandler} in
     * its place (which starts the handshake), anything else fails the probe. The answer is never passed on.
     */
    private static final class SslRequestFirst extends ChannelInboundHandlerAdapter {
        private static final byte[] SSL_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};

        private final SslHandler ssl;
        private boolean answered;

        SslRequestFirst(SslHandler ssl) {
            this.ssl = ssl;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(SSL_REQUEST)); // the gate after it holds the dialog's start
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (answered || !(msg instanceof ByteBuf buf) || buf.readableBytes() == 0) {
                    return;
                }
                answered = true;
                byte answer = buf.getByte(buf.readerIndex());
                if (answer == 'S' && buf.readableBytes() == 1) {
                    ctx.pipeline().replace(this, "tls", ssl);
                } else {
                    ctx.fireExceptionCaught(new SSLException("the backend answered "
                            + (answer >= 0x20 && answer < 0x7f ? "'" + (char) answer + "'" : "0x" + (answer & 0xff))
                            + " to SSLRequest"));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (ctx.pipeline().get(SslHandler.class) != ssl) {
                ReferenceCountUtil.release(ssl.engine()); // never added: an OpenSSL engine holds native memory
            }
        }
    }

    /** Holds the dialog's start (its channelActive) until the TLS handshake succeeded; a failure reaches it. */
    private static final class HandshakeGate extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            // the handshake's success starts the dialog
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                ctx.pipeline().remove(this);
                if (done.isSuccess()) {
                    ctx.fireChannelActive();
                } else {
                    ctx.fireExceptionCaught(done.cause());
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }
    }

    /** A failure as one short line: {@code connect timed out}, or the exception's message. */
    static String describe(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return "connect timed out";
        }
        return ErrorText.of(cause).replace("\n", " ");
    }

    /** Writes a v2 PROXY {@code LOCAL} header as the first bytes, before the TLS handshake starts, then goes. */
    private static final class LocalHeaderFirst extends io.netty.channel.ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(io.netty.channel.ChannelHandlerContext ctx) {
            ctx.writeAndFlush(dev.strait.proxyprotocol.ProxyHeaderEncoder.v2Local(ctx.alloc()));
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
        }
    }
}
