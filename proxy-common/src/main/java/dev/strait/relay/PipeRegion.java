package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.channel.FileRegion;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;

/**
 * A run of bytes waiting in a {@link Pipe}, written to a socket with splice(2) when the writing channel flushes it.
 *
 * <p>It is queued on the writing channel like any buffer, so it goes out in order with the buffers around it and a
 * flush waits for it; Netty's epoll transport writes a {@link FileRegion} by calling {@link #transferTo} until it
 * reports every byte transferred. The target channel Netty passes in is not used: the bytes go from the pipe straight
 * to the socket this region was made for (the writing channel's own descriptor, open while Netty writes to it).
 */
final class PipeRegion extends AbstractReferenceCounted implements FileRegion {
    private final Pipe pipe;
    private final FileDescriptor socket;
    private final SpliceReader owner;
    private final long count;
    private long transferred;

    PipeRegion(Pipe pipe, FileDescriptor socket, SpliceReader owner, long count) {
        this.pipe = requireNonNull(pipe, "pipe");
        this.socket = requireNonNull(socket, "socket");
        this.owner = requireNonNull(owner, "owner");
        this.count = count;
        pipe.retain();
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        int moved;
        try {
            moved = Native.splice(pipe.readEnd(), -1, socket.intValue(), -1, count - transferred);
        } catch (RuntimeException e) {
            // e.g. ENOTCONN arrives as NotYetConnectedException: as an I/O error it closes the channel, as Netty
            // does for a failed write, instead of only shutting its output
            throw new IOException("splice to " + socket + " failed", e);
        }
        transferred += moved;
        owner.splicedOut(moved);
        return moved;
    }

    @Override
    public long position() {
        return 0;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long count() {
        return count;
    }

    @Override
    protected void deallocate() {
        pipe.release();
    }

    @Override
    public PipeRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public PipeRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public PipeRegion touch() {
        return this;
    }

    @Override
    public PipeRegion touch(Object hint) {
        return this;
    }
}
