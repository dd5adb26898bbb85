package dev.strait.bench;

import dev.strait.config.ProxyConfig;
import dev.strait.server.ProxyServer;
import dev.strait.server.config.ConfigLoader;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one proxied connection, accept to relaying to close: the whole server runs in this JVM on one worker
 * event loop, in front of a Netty echo backend on its own thread, and each operation is one loopback client that
 * connects, sends 16 bytes, reads them back through the relay and closes (the client closes first, as a PHP or
 * health-check client does).
 *
 * <p>The time per operation includes the client's and the backend's work and the kernel's, so it moves only with
 * large changes; the figure to watch is the one printed after each iteration: <b>bytes allocated on Strait's event
 * loop per connection</b> (ThreadMXBean, the worker thread only, not the client or the backend), which is exact and
 * does not depend on a loaded machine. {@code -prof gc} adds the allocation of every thread (client and backend
 * included).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Thread)
public class ConnectionSetupBenchmark {
    private static final byte[] PAYLOAD = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /** The server's transport ({@code transport:} in the config): {@code epoll}, {@code io_uring} or {@code nio}. */
    @Param({"epoll"})
    public String transport;

    private EventLoopGroup backendLoop;
    private Channel backend;
    private ProxyServer server;
    private InetSocketAddress proxy;
    private Path configFile;
    private long[] workerThreads;
    private long allocatedBefore;
    private long connections;
    private final byte[] reply = new byte[PAYLOAD.length];

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        backendLoop = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("bench-backend", true), NioIoHandler.newFactory());
        backend = new ServerBootstrap()
                .group(backendLoop)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Echo());
                    }
                })
                .bind("127.0.0.1", 0)
                .sync()
                .channel();
        int backendPort = ((InetSocketAddress) backend.localAddress()).getPort();
        configFile = Files.createTempFile("strait-bench", ".yaml");
        Files.writeString(
                configFile,
                "transport: " + transport + "\n"
                        + "workers: 1\n"
                        + "routes:\n"
                        + "  - name: bench\n"
                        + "    listen: 127.0.0.1:0\n"
                        + "    backends: [\"127.0.0.1:" + backendPort + "\"]\n");
        ProxyConfig config = new ConfigLoader(Map.of()).load(configFile);
        server = ProxyServer.start(config);
        if (!server.transport().name().equals(transport)) {
            throw new IllegalStateException("transport " + transport + " is not available here");
        }
        proxy = server.boundAddress("bench");
        workerThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("strait-worker"))
                .mapToLong(Thread::getId)
                .toArray();
        if (workerThreads.length == 0) {
            throw new IllegalStateException("no strait-worker thread found");
        }
    }

    @Setup(Level.Iteration)
    public void startCounting() {
        allocatedBefore = workerAllocatedBytes();
        connections = 0;
    }

    @Benchmark
    public int connectEchoClose() throws IOException {
        try (Socket client = new Socket()) {
            client.setSoTimeout(10_000);
            client.connect(proxy, 10_000);
            OutputStream out = client.getOutputStream();
            out.write(PAYLOAD);
            InputStream in = client.getInputStream();
            int got = 0;
            while (got < reply.length) {
                int n = in.read(reply, got, reply.length - got);
                if (n < 0) {
                    throw new IOException("the proxy closed after " + got + " bytes");
                }
                got += n;
            }
            if (!Arrays.equals(reply, PAYLOAD)) {
                throw new IOException("the echo differs");
            }
            connections++;
            return got;
        }
    }

    @TearDown(Level.Iteration)
    public void report() {
        // Let the last connections' close paths run before reading the counter.
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (server.connections().size() > 0 && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        long bytes = workerAllocatedBytes() - allocatedBefore;
        System.out.printf(
                "%n  Strait event loop: %d bytes allocated per connection (%d connections)%n",
                connections == 0 ? 0 : bytes / connections, connections);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        server.shutdown(Duration.ofSeconds(5));
        backend.close().sync();
        backendLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        Files.deleteIfExists(configFile);
    }

    private long workerAllocatedBytes() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long total = 0;
        for (long bytes : threads.getThreadAllocatedBytes(workerThreads)) {
            total += bytes;
        }
        return total;
    }

    /** Echoes what it reads; closes when the client's FIN arrives (half-closure off). */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
