package dev.strait.relay;

import static java.util.Objects.requireNonNull;

import io.netty.channel.unix.FileDescriptor;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A kernel pipe that one spliced direction moves its bytes through, closed when its last holder lets go.
 *
 * <p>The direction holds one reference for as long as its reading channel is open; each {@link PipeRegion} queued on
 * the writing channel holds another, so bytes already in the pipe stay deliverable after the reading side closed.
 * Reference counts are touched on the connection's event loop only.
 */
final class Pipe extends AbstractReferenceCounted {
    private static final Logger log = LogManager.getLogger(Pipe.class);

    private final FileDescriptor readEnd;
    private final FileDescriptor writeEnd;

    private Pipe(FileDescriptor readEnd, FileDescriptor writeEnd) {
        this.readEnd = requireNonNull(readEnd, "readEnd");
        this.writeEnd = requireNonNull(writeEnd, "writeEnd");
    }

    /** A new non-blocking pipe (2 descriptors); fails with the kernel's error, e.g. EMFILE when descriptors ran out. */
    static Pipe open() throws IOException {
        FileDescriptor[] ends = FileDescriptor.pipe();
        return new Pipe(ends[0], ends[1]);
    }

    int readEnd() {
        return readEnd.intValue();
    }

    int writeEnd() {
        return writeEnd.intValue();
    }

    @Override
    protected void deallocate() {
        close(readEnd);
        close(writeEnd);
    }

    private static void close(FileDescriptor end) {
        try {
            end.close();
        } catch (IOException e) {
            log.debug("closing a splice pipe failed: {}", e.toString());
        }
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        return this;
    }
}
