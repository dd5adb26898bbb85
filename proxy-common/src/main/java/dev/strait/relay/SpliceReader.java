package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.UncheckedBooleanSupplier;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Moves one direction's bytes from its channel's socket into a pipe and on to the peer's socket with splice(2), so
 * they never enter user space; until {@link #start} it only stands by.
 *
 * <p>How: it wraps the reading channel's receive-buffer allocator. Netty asks the allocator for a buffer each time the
 * socket is readable; while splicing, that request first splices what the socket holds into the pipe and queues it on
 * the peer as a {@link PipeRegion} (flushed at once, so the pipe empties), then hands Netty a small probe buffer. Netty
 * reads the probe as usual, which is how the end of the stream and socket errors are found: in order, after every
 * byte spliced before them. Bytes the probe does read (they arrived in between) are relayed by copying, in order. A
 * failed splice is a failed read: every byte spliced before it has already been queued on the peer.
 *
 * <p>Backpressure: when a flush leaves bytes in the pipe (the peer's socket is full), this channel stops reading and
 * the peer is marked unwritable (a user-defined writability flag), so the relay's usual rule (read only while the
 * peer is writable) resumes reading once the pipe has drained. After the peer's FIN, Netty keeps reading to the end
 * of the stream regardless; if the pipe is still full then, the rest is read into buffers and copied, as a copying
 * relay would.
 *
 * <p>Cost: one pipe (2 descriptors) per spliced direction, taken at {@link #start} and closed when this channel and
 * every region still queued are done. When no pipe can be had (descriptors ran out), {@link #start} fails and the
 * direction keeps copying.
 *
 * <p>Thread model: both channels share one event loop, which is the only writer; {@link #spliced()} may be read from
 * any thread.
 */
public final class SpliceReader implements RecvByteBufAllocator {
    /** The peer's user-defined writability flag that is cleared while bytes wait in this direction's pipe. */
    static final int PIPE_BACKLOG_FLAG = 1;
    /** The most one splice(2) call asks for; the pipe's free space bounds it first. */
    private static final int SPLICE_MAX = 1 << 20;
    /**
     * Splice passes per read loop (one epoll wake-up) at most, so one busy connection cannot hold its event loop: 64
     * pipe-fulls, 4 MiB with the kernel's 64 KiB pipe, the bound that Netty's 16 reads per loop of 4 passes each set
     * before. Spent in one read request rather than 4 at a time, it takes one probe read per 4 MiB instead of one per
     * 256 KiB, each of which found bytes under load and copied them (a recvfrom and a writev): 2.64 to 2.14 system
     * calls per 64 KiB relayed (bench/bulk-syscalls.py; bench/results/connection-cost.md).
     */
    static final int PASSES_PER_READ = 64;
    /** Passes per read request once the loop's budget is spent, when Netty reads on regardless (after a FIN). */
    private static final int PASSES_AFTER_BUDGET = 4;
    /** The probe Netty reads after the splices: it sees the end of the stream, an error or a late byte or two. */
    private static final int PROBE = 1024;
    /** Buffer size for what is read by copying while the pipe is full (only after a FIN, see above). */
    private static final int COPY_CHUNK = 64 * 1024;

    private final Channel channel;
    private final RecvByteBufAllocator delegate;
    private volatile long spliced;
    private Channel peer;
    private FileDescriptor peerSocket;
    private Pipe pipe;
    private long inPipe;
    private boolean backlogged;
    private boolean firstAllocation;
    private int passesLeft;

    private SpliceReader(Channel channel, RecvByteBufAllocator delegate) {
        this.channel = requireNonNull(channel, "channel");
        this.delegate = requireNonNull(delegate, "delegate");
    }

    /**
     * Makes a native epoll stream channel ready to splice later; a no-op on other transports, which cannot splice.
     * Call on the channel's event loop before its first read.
     */
    public static void install(Channel channel) {
        ChannelConfig config = channel.config();
        if (channel instanceof AbstractEpollStreamChannel
                && !(config.getRecvByteBufAllocator() instanceof SpliceReader)) {
            config.setRecvByteBufAllocator(new SpliceReader(channel, config.getRecvByteBufAllocator()));
        }
    }

    /** The reader installed on the channel, or null if there is none. */
    static SpliceReader of(Channel channel) {
        return channel.config().getRecvByteBufAllocator() instanceof SpliceReader reader ? reader : null;
    }

    /**
     * Splices from now on towards {@code peer} (an epoll stream channel on the same event loop, relaying this
     * channel's bytes in order). Fails, changing nothing, when no pipe can be had.
     */
    void start(Channel peer) throws IOException {
        if (pipe != null) {
            return;
        }
        Pipe opened = Pipe.open();
        this.pipe = opened;
        this.peer = peer;
        this.peerSocket = ((UnixChannel) peer).fd();
        channel.closeFuture().addListener(closed -> opened.release());
    }

    /** Bytes moved into the pipe so far. */
    public long spliced() {
        return spliced;
    }

    /** Called by a {@link PipeRegion} for the bytes it moved out of the pipe. */
    void splicedOut(int bytes) {
        inPipe -= bytes;
        if (inPipe == 0 && backlogged) {
            backlogged = false;
            ChannelOutboundBuffer queue = peer.unsafe().outboundBuffer();
            if (queue != null) {
                queue.setUserDefinedWritability(PIPE_BACKLOG_FLAG, true); // the peer's relay resumes our reading
            }
        }
    }

    private boolean splicing() {
        return pipe != null && peer.isActive() && !Channels.isOutputShutdown(peer);
    }

    /** Splices what the socket holds, pass by pass, while the pipe drains into the peer; spends the loop's budget. */
    private void spliceIn() {
        int socket = ((UnixChannel) channel).fd().intValue();
        int passes = passesLeft > 0 ? passesLeft : PASSES_AFTER_BUDGET;
        for (int pass = 0; pass < passes; pass++) {
            passesLeft = Math.max(0, passesLeft - 1);
            int moved;
            try {
                moved = Native.splice(socket, -1, pipe.writeEnd(), -1, SPLICE_MAX);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a failed read; what came before is queued on the peer
            }
            if (moved == 0) {
                return; // nothing more now, the end of the stream, or a full pipe: the probe tells
            }
            spliced += moved; // single writer: the event loop
            inPipe += moved;
            peer.write(new PipeRegion(pipe, peerSocket, this, moved), peer.voidPromise());
            peer.flush();
            if (inPipe > 0) {
                backlogged = true; // the peer's socket is full: wait for the pipe to drain
                channel.config().setAutoRead(false);
                ChannelOutboundBuffer queue = peer.unsafe().outboundBuffer();
                if (queue != null) {
                    queue.setUserDefinedWritability(PIPE_BACKLOG_FLAG, false);
                }
                return;
            }
        }
    }

    @Override
    public ExtendedHandle newHandle() {
        return new SplicingHandle((ExtendedHandle) delegate.newHandle());
    }

    /** The channel's read handle: Netty's own, except that an allocation splices first while splicing. */
    @SuppressWarnings("deprecation") // Handle is deprecated in favour of ExtendedHandle, which extends it
    private final class SplicingHandle implements ExtendedHandle {
        private final ExtendedHandle handle;

        SplicingHandle(ExtendedHandle handle) {
            this.handle = handle;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            boolean first = firstAllocation;
            firstAllocation = false;
            if (!splicing()) {
                return handle.allocate(alloc);
            }
            if (backlogged && !first) {
                // Reading on after a FIN with the pipe still full: copy the rest, in order behind the pipe's bytes.
                return alloc.directBuffer(COPY_CHUNK);
            }
            if (!backlogged) {
                spliceIn();
            }
            return alloc.directBuffer(PROBE);
        }

        @Override
        public void reset(ChannelConfig config) {
            firstAllocation = true;
            passesLeft = PASSES_PER_READ;
            handle.reset(config);
        }

        @Override
        public int guess() {
            return handle.guess();
        }

        @Override
        public void incMessagesRead(int numMessages) {
            handle.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            handle.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return handle.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            handle.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return handle.attemptedBytesRead();
        }

        // A loop whose splice budget is spent ends after its probe read (Netty's epoll handle still reads on after a
        // FIN); while copying, the budget is never touched.
        @Override
        public boolean continueReading() {
            return passesLeft > 0 && handle.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return passesLeft > 0 && handle.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            handle.readComplete();
        }
    }
}
