package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Counts every byte one channel takes from its socket, whether read into a buffer or spliced into a pipe, by wrapping
 * the channel's receive-buffer allocator; the allocator's handle is told the size of each read and each splice.
 *
 * <p>Spliced bytes never reach the pipeline as {@code channelRead}, so this is where the relay learns how many moved
 * ({@link #total()}).
 *
 * <p>One instance per channel (it holds that channel's counts), installed before the channel's first read. Written on
 * the channel's event loop only; {@link #total()} may be read from any thread.
 */
public final class ReadCounter implements RecvByteBufAllocator {
    private final RecvByteBufAllocator delegate;
    private volatile long total;

    private ReadCounter(RecvByteBufAllocator delegate) {
        this.delegate = requireNonNull(delegate, "delegate");
    }

    /**
     * Wraps the allocator of a native epoll stream channel that has not read yet; a no-op on other transports, which
     * cannot splice. Call on the channel's event loop before its first read.
     */
    public static void install(Channel channel) {
        if (channel instanceof AbstractEpollStreamChannel
                && !(channel.config().getRecvByteBufAllocator() instanceof ReadCounter)) {
            ChannelConfig config = channel.config();
            config.setRecvByteBufAllocator(new ReadCounter(config.getRecvByteBufAllocator()));
        }
    }

    /** The counter installed on the channel, or null if there is none. */
    static ReadCounter of(Channel channel) {
        return channel.config().getRecvByteBufAllocator() instanceof ReadCounter counter ? counter : null;
    }

    /** Bytes taken from the socket so far. */
    public long total() {
        return total;
    }

    @Override
    public ExtendedHandle newHandle() {
        return new CountingHandle((ExtendedHandle) delegate.newHandle());
    }

    /** Passes everything to the wrapped handle, noting the bytes of each read or splice on the way. */
    @SuppressWarnings("deprecation") // Handle is deprecated in favour of ExtendedHandle, which extends it
    private final class CountingHandle implements ExtendedHandle {
        private final ExtendedHandle handle;

        CountingHandle(ExtendedHandle handle) {
            this.handle = handle;
        }

        @Override
        public void reset(ChannelConfig config) {
            handle.reset(config);
        }

        @Override
        public void lastBytesRead(int bytes) {
            if (bytes > 0) {
                total += bytes; // single writer: the channel's event loop
            }
            handle.lastBytesRead(bytes);
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return handle.allocate(alloc);
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

        @Override
        public boolean continueReading() {
            return handle.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return handle.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            handle.readComplete();
        }
    }
}
