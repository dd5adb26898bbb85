package dev.strait.bench;

import dev.strait.relay.RelayHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;
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
 * The relay's per-read cost, without sockets: what one read costs on the event loop, from the buffer a read would
 * allocate to the flush on the peer.
 *
 * <p>Each operation allocates a direct buffer of {@code size} bytes from the allocator that Strait's channels read
 * with, fires it through the frontend's pipeline into the real {@link RelayHandler} ({@code channelRead}: a write to
 * the peer without a flush), fires {@code channelReadComplete} (the flush), then takes the buffer off the peer's
 * outbound queue and releases it, as a socket write would once done. Nothing is retained between operations. The
 * buffer's contents are never touched: the relay passes buffers on without reading or copying them, so filling them
 * would only add a memory copy to the figure. Both channels are {@link EmbeddedChannel}s, so no system call is
 * counted: the peer's flush ends in a queue, not a socket.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class RelayReadBenchmark {

    /** Bytes per read. */
    @Param({"64", "1024", "16384"})
    public int size;

    /**
     * {@code default}: {@link ByteBufAllocator#DEFAULT}, which Strait's channels read with (Netty 4.2's adaptive
     * pooling allocator unless {@code -Dio.netty.allocator.type} says otherwise); {@code pooled}: the classic
     * {@link PooledByteBufAllocator}.
     */
    @Param({"default"})
    public String allocator;

    private EmbeddedChannel frontend;
    private EmbeddedChannel backend;
    private RelayHandler relay;
    private ChannelPipeline pipeline;
    private ByteBufAllocator alloc;
    private long operations;

    @Setup(Level.Trial)
    public void setUp() {
        alloc = switch (allocator) {
            case "default" -> ByteBufAllocator.DEFAULT;
            case "pooled" -> PooledByteBufAllocator.DEFAULT;
            default -> throw new IllegalArgumentException("allocator: expected default or pooled, not " + allocator);
        };
        backend = new EmbeddedChannel();
        relay = new RelayHandler(backend, "frontend");
        frontend = new EmbeddedChannel(relay);
        pipeline = frontend.pipeline();
        operations = 0;
    }

    @Benchmark
    public int readRelayFlush() {
        ByteBuf read = alloc.directBuffer(size, size);
        read.writerIndex(size);
        pipeline.fireChannelRead(read);
        pipeline.fireChannelReadComplete();
        ByteBuf written = backend.readOutbound();
        int bytes = written.readableBytes();
        written.release();
        operations++;
        return bytes;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        // Checked before closing: closing the frontend makes the relay flush and close the backend.
        boolean leftOver = !frontend.inboundMessages().isEmpty()
                || !backend.outboundMessages().isEmpty();
        frontend.finishAndReleaseAll();
        backend.finishAndReleaseAll();
        if (leftOver) {
            throw new IllegalStateException("messages left in the channels after the benchmark");
        }
        long expected = operations * size;
        if (relay.bytesRelayed() != expected) {
            throw new IllegalStateException(
                    "relayed " + relay.bytesRelayed() + " bytes, expected " + expected + " (" + operations + " reads)");
        }
    }
}
