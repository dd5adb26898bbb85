package dev.strait.server.admin;

import dev.strait.config.AdminToken;
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
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The admin endpoint's listener: binds, serves {@link AdminHandler}, samples traffic once a second for the API's rates
 * and the page's chart ({@link TrafficSampler}), and closes.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(AdminServer.class);

    private final Channel channel;
    private final ScheduledFuture<?> sampling;

    private AdminServer(Channel channel, ScheduledFuture<?> sampling) {
        this.channel = channel;
        this.sampling = sampling;
    }

    /**
     * Binds the admin endpoint on {@code group} (accept and requests both); it reads the proxy through {@code view}
     * and serves {@code metrics} on {@code /metrics}.
     *
     * @param token the current {@code admin.token}, read once per admin connection (so a reload applies to the next)
     */
    public static AdminServer start(
            HostAndPort listen,
            EventLoopGroup group,
            Transport transport,
            ProxyView view,
            ProxyMetrics metrics,
            Supplier<Optional<AdminToken>> token)
            throws ListenException {
        UiAssets ui = UiAssets.load();
        TrafficSampler sampler = new TrafficSampler(view);
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
                                .addLast(
                                        "admin",
                                        new AdminHandler(view, metrics, new AdminApi(view, sampler, token.get()), ui));
                    }
                });
        Channel channel = Listeners.bind(bootstrap, listen, "the admin endpoint");
        log.info("admin listening on {}", Listeners.format(channel.localAddress()));
        ScheduledFuture<?> sampling = channel.eventLoop()
                .scheduleAtFixedRate(
                        () -> sampler.tick(System.nanoTime(), System.currentTimeMillis()), 0, 1, TimeUnit.SECONDS);
        return new AdminServer(channel, sampling);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        sampling.cancel(false);
        channel.close().awaitUninterruptibly();
    }
}
