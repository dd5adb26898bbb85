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
import java.nio.ByteBuffer;
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
 * <p>{@code stage} puts a pre-relay stage on the route and has each client send what it waits for first:
 * {@code plain} none; {@code proxy-v1} / {@code proxy-v2} {@code proxyProtocol.accept} and a PROXY header (stripped
 * before the backend); {@code sni} an {@code sni} route and a ~1.3 KB ClientHello naming its target (relayed, so the
 * echo is hello + payload); {@code sni-default} the same hello with a name no target has (the default backends).
 * The difference to {@code plain} is the stage's cost per connection.
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

    /** The pre-relay stage on the route: {@code plain}, {@code proxy-v1}, {@code proxy-v2}, {@code sni}, {@code sni-default}. */
    @Param({"plain"})
    public String stage;

    private byte[] prefix;
    private int echoed;

    private EventLoopGroup backendLoop;
    private Channel backend;
    private ProxyServer server;
    private InetSocketAddress proxy;
    private Path configFile;
    private long[] workerThreads;
    private long allocatedBefore;
    private long connections;
    private byte[] reply;

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
                        + "    backends: [\"127.0.0.1:" + backendPort + "\"]\n"
                        + stageConfig(backendPort));
        prefix = stagePrefix();
        echoed = (stage.startsWith("sni") ? prefix.length : 0) + PAYLOAD.length;
        reply = new byte[echoed];
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
            if (prefix.length > 0) {
                byte[] first = Arrays.copyOf(prefix, prefix.length + PAYLOAD.length);
                System.arraycopy(PAYLOAD, 0, first, prefix.length, PAYLOAD.length);
                out.write(first);
            } else {
                out.write(PAYLOAD);
            }
            InputStream in = client.getInputStream();
            int got = 0;
            while (got < reply.length) {
                int n = in.read(reply, got, reply.length - got);
                if (n < 0) {
                    throw new IOException("the proxy closed after " + got + " bytes");
                }
                got += n;
            }
            if (!Arrays.equals(reply, reply.length - PAYLOAD.length, reply.length, PAYLOAD, 0, PAYLOAD.length)) {
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

    /** The route's extra keys for {@link #stage}. */
    private String stageConfig(int backendPort) {
        return switch (stage) {
            case "plain" -> "";
            case "proxy-v1", "proxy-v2" -> "    proxyProtocol: { accept: true, trustedSources: [127.0.0.0/8] }\n";
            case "sni", "sni-default" -> "    sni:\n"
                    + "      - serverNames: [db1.bench.test]\n"
                    + "        backends: [\"127.0.0.1:" + backendPort + "\"]\n";
            default -> throw new IllegalArgumentException("stage " + stage);
        };
    }

    /** What each client sends before the payload for {@link #stage}. */
    private byte[] stagePrefix() {
        return switch (stage) {
            case "plain" -> new byte[0];
            case "proxy-v1" -> "PROXY TCP4 192.0.2.7 127.0.0.1 40000 5432\r\n".getBytes(StandardCharsets.US_ASCII);
            case "proxy-v2" -> proxyV2();
            case "sni" -> clientHello("db1.bench.test");
            case "sni-default" -> clientHello("other.bench.test");
            default -> throw new IllegalArgumentException("stage " + stage);
        };
    }

    /** A PROXY v2 PROXY command, TCP over IPv4, 192.0.2.7:40000 -> 127.0.0.1:5432, no TLV. */
    private static byte[] proxyV2() {
        ByteBuffer header = ByteBuffer.allocate(28);
        header.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        header.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
        header.put(new byte[] {(byte) 192, 0, 2, 7}).put(new byte[] {127, 0, 0, 1});
        header.putShort((short) 40000).putShort((short) 5432);
        return header.array();
    }

    /**
     * A TLS 1.3-style ClientHello in one record naming {@code sni}, with ALPN and a 1,216-byte key share (the size of
     * an X25519MLKEM768 share, as current browsers and OpenSSL 3.5 send): about 1.3 KB, what the SNI stage parses.
     */
    private static byte[] clientHello(String sni) {
        ByteBuffer ext = ByteBuffer.allocate(2048);
        byte[] name = sni.getBytes(StandardCharsets.US_ASCII);
        ext.putShort((short) 0).putShort((short) (name.length + 5)).putShort((short) (name.length + 3));
        ext.put((byte) 0).putShort((short) name.length).put(name);
        byte[] alpn = "postgresql".getBytes(StandardCharsets.US_ASCII);
        ext.putShort((short) 16).putShort((short) (alpn.length + 3)).putShort((short) (alpn.length + 1));
        ext.put((byte) alpn.length).put(alpn);
        int share = 1216;
        ext.putShort((short) 51).putShort((short) (share + 6)).putShort((short) (share + 4));
        ext.putShort((short) 0x11ec).putShort((short) share).put(new byte[share]);
        ext.flip();
        ByteBuffer body = ByteBuffer.allocate(2048);
        body.putShort((short) 0x0303).put(new byte[32]).put((byte) 32).put(new byte[32]);
        body.putShort((short) 4).putShort((short) 0x1301).putShort((short) 0x1302);
        body.put((byte) 1).put((byte) 0);
        body.putShort((short) ext.remaining()).put(ext);
        body.flip();
        ByteBuffer record = ByteBuffer.allocate(body.remaining() + 9);
        record.put((byte) 22).putShort((short) 0x0301).putShort((short) (body.remaining() + 4));
        record.put((byte) 1).put((byte) 0).putShort((short) body.remaining()).put(body);
        return record.array();
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
