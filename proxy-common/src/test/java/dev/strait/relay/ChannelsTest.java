package dev.strait.relay;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link Channels#shutdownOutput} on real epoll sockets over loopback: the FIN it sends without Netty's exception. */
class ChannelsTest {

    @Test
    void shutdownOutputOnEpollSendsAFinAndLeavesTheOtherDirectionOpen() throws Exception {
        EventLoopGroup group = Transport.EPOLL.newEventLoopGroup(1, "channels-test");
        try {
            BlockingQueue<Object> serverEvents = new LinkedBlockingQueue<>();
            AtomicReference<Channel> accepted = new AtomicReference<>();
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ReferenceCountUtil.release(msg);
                                }

                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                    serverEvents.add(evt);
                                }
                            });
                            accepted.set(ch);
                        }
                    })
                    .bind("127.0.0.1", 0)
                    .sync()
                    .channel();
            BlockingQueue<String> clientReads = new LinkedBlockingQueue<>();
            Channel client = new Bootstrap()
                    .group(group)
                    .channel(EpollSocketChannel.class)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf read = (ByteBuf) msg;
                            clientReads.add(read.toString(US_ASCII));
                            read.release();
                        }
                    })
                    .connect(server.localAddress())
                    .sync()
                    .channel();

            ChannelFuture shut = client.eventLoop()
                    .submit(() -> Channels.shutdownOutput((DuplexChannel) client))
                    .get(10, SECONDS);

            assertThat(shut.isSuccess()).isTrue();
            assertThat(((DuplexChannel) client).isOutputShutdown()).isTrue();
            assertThat(serverEvents.poll(10, SECONDS)).isEqualTo(ChannelInputShutdownEvent.INSTANCE);
            accepted.get()
                    .writeAndFlush(Unpooled.copiedBuffer("after the FIN", US_ASCII))
                    .sync();
            assertThat(clientReads.poll(10, SECONDS)).isEqualTo("after the FIN");
            assertThat(client.isActive()).isTrue();
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, SECONDS).sync();
        }
    }
}
