package dev.strait.server.admin;

import dev.strait.config.HostAndPort;
import dev.strait.server.listen.ListenException;
import dev.strait.server.listen.Listeners;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** The admin endpoint's listener: binds, serves {@link AdminHandler}, and closes. */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(AdminServer.class);

    private final Channel channel;

    private AdminServer(Channel channel) {
        this.channel = channel;
    }

    /**
     * Binds the admin endpoint on {@code group} (accept and requests both); it reads the proxy through {@code view}
     * and serves {@code metrics} on {@code /metrics}.
     */
    public static AdminServer start(
            HostAndPort listen, EventLoopGroup group, Transport transport, ProxyView view, ProxyMetrics metrics)
            throws ListenException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast("http", new HttpServerCodec())
                                .addLast("aggregate", new HttpObjectAggregator(8192))
                                .addLast("admin", new AdminHandler(view, metrics));
                    }
                });
        Channel channel = Listeners.bind(bootstrap, listen, "the admin endpoint");
        log.info("admin listening on {}", Listeners.format(channel.localAddress()));
        return new AdminServer(channel);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
    }
}
