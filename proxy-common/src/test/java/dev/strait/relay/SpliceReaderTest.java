package dev.strait.relay;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * {@link SpliceReader} on real epoll sockets over loopback: a bulk stream relayed client -> relay -> sink, with the
 * relay's read loops watched from a handler in front of its {@link RelayHandler}.
 */
class SpliceReaderTest {
    private static final long BULK = 64L * 1024 * 1024;
    /** The kernel's default pipe (16 pages), which bounds one splice(2). */
    private static final long PIPE = 64 * 1024;

    @Test
    void splicesAtMostItsBudgetPerReadLoopAndProbesOncePerLoop() throws Exception {
        EventLoopGroup group = Transport.EPOLL.newEventLoopGroup(1, "splice-reader-test");
        AtomicLong sunk = new AtomicLong();
        LoopWatch watch = new LoopWatch();
        try {
            Channel sink = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            sunk.addAndGet(((ByteBuf) msg).readableBytes());
                            ReferenceCountUtil.release(msg);
                        }
                    })
                    .bind("127.0.0.1", 0)
                    .sync()
                    .channel();
            Channel relay = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel front) {
                            SpliceReader.install(front);
                            new Bootstrap()
                                    .group(front.eventLoop())
                                    .channel(EpollSocketChannel.class)
                                    .option(ChannelOption.AUTO_READ, false)
                                    .handler(new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel back) {
                                            back.pipeline().addLast(new RelayHandler(front, "backend"));
                                        }
                                    })
                                    .connect(sink.localAddress())
                                    .addListener(connected -> {
                                        Channel back = ((ChannelFuture) connected).channel();
                                        watch.reader = SpliceReader.of(front);
                                        front.pipeline()
                                                .addLast(
                                                        watch,
                                                        new RelayHandler(
                                                                back,
                                                                "frontend",
                                                                Duration.ZERO,
                                                                1,
                                                                e -> {},
                                                                RelayListener.NONE));
                                        front.config().setAutoRead(true);
                                    });
                        }
                    })
                    .bind("127.0.0.1", 0)
                    .sync()
                    .channel();

            try (Socket client = new Socket()) {
                client.connect((InetSocketAddress) relay.localAddress());
                byte[] chunk = new byte[256 * 1024];
                new Random(14).nextBytes(chunk);
                OutputStream out = client.getOutputStream();
                for (long sent = 0; sent < BULK; sent += chunk.length) {
                    out.write(chunk);
                }
                // No FIN until everything arrived: after one, Netty reads on past any budget.
                await().atMost(60, SECONDS).until(() -> sunk.get() == BULK);
            }
        } finally {
            group.shutdownGracefully(0, 1, SECONDS).sync();
        }
        assertThat(watch.reader).isNotNull();
        assertThat(watch.reader.spliced()).as("bytes spliced").isGreaterThan(BULK / 2);
        assertThat(watch.maxSplicedPerLoop.get())
                .as("bytes spliced in one read loop (one wake-up)")
                .isPositive()
                .isLessThanOrEqualTo(SpliceReader.PASSES_PER_READ * PIPE);
        assertThat(watch.maxProbesWithBytesPerLoop.get())
                .as("probe reads that found bytes in one read loop whose budget was spent")
                .isLessThanOrEqualTo(1);
    }

    /** Counts, per read loop of a splicing channel, the bytes spliced and the reads that Netty saw (probes). */
    private static final class LoopWatch extends ChannelInboundHandlerAdapter {
        volatile SpliceReader reader;
        final AtomicLong maxSplicedPerLoop = new AtomicLong();
        final AtomicInteger maxProbesWithBytesPerLoop = new AtomicInteger();
        private long splicedAtLoopStart;
        private int probes;

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (reader.spliced() > 0) {
                probes++;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            long spliced = reader.spliced();
            long inLoop = spliced - splicedAtLoopStart;
            maxSplicedPerLoop.accumulateAndGet(inLoop, Math::max);
            if (inLoop >= SpliceReader.PASSES_PER_READ * PIPE) {
                maxProbesWithBytesPerLoop.accumulateAndGet(probes, Math::max); // a full budget: one probe, then out
            }
            splicedAtLoopStart = spliced;
            probes = 0;
            ctx.fireChannelReadComplete();
        }
    }
}
