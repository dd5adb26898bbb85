package dev.strait.server.capture;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One capture: what it matches, its budget and clock, its counters and its file. Taps take bytes from its budget on
 * event loops; the writer thread alone writes its file. Thread-safe.
 */
public final class Capture {
    /** Where a capture is: taking new connections, or finished (time or bytes used up), or stopped by an operator. */
    public enum Status {
        RUNNING,
        DONE,
        STOPPED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String id;
    private final CaptureRequest request;
    private final Path file;
    private final Instant started = Instant.now();
    private final long untilNanos;
    private final AtomicLong captured = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile boolean stopped;
    private volatile long complete;
    /** The writer thread's; null once the file is closed. */
    private FileChannel out;

    Capture(String id, CaptureRequest request, Path file, FileChannel out) throws IOException {
        this.id = requireNonNull(id, "id");
        this.request = requireNonNull(request, "request");
        this.file = requireNonNull(file, "file");
        this.out = requireNonNull(out, "out");
        this.untilNanos = System.nanoTime() + request.duration().toNanos();
        write(PcapFormat.fileHeader());
    }

    public String id() {
        return id;
    }

    public CaptureRequest request() {
        return request;
    }

    public Instant started() {
        return started;
    }

    /** The pcap file; its first {@link #completeBytes()} bytes are whole records. */
    public Path file() {
        return file;
    }

    /** How much of the file is whole records (the writer may be in the middle of one after that). */
    public long completeBytes() {
        return complete;
    }

    /** Payload bytes taken into the capture (written, or queued to be). */
    public long capturedBytes() {
        return captured.get();
    }

    /** Payload bytes lost because the writer's queue was full. */
    public long droppedBytes() {
        return dropped.get();
    }

    /** Connections that matched while it ran. */
    public int connections() {
        return connections.get();
    }

    public Status status() {
        if (stopped) {
            return Status.STOPPED;
        }
        return System.nanoTime() - untilNanos >= 0 || captured.get() >= request.maxBytes()
                ? Status.DONE
                : Status.RUNNING;
    }

    boolean running() {
        return status() == Status.RUNNING;
    }

    boolean matches(String route, InetAddress client) {
        return request.route().equals(route)
                && (request.client().isEmpty() || request.client().get().contains(client));
    }

    void stop() {
        stopped = true;
    }

    void connectionMatched() {
        connections.incrementAndGet();
    }

    /** Takes up to {@code wanted} bytes of the budget; returns how many were granted (0 once it is used up). */
    int take(int wanted) {
        while (true) {
            long used = captured.get();
            long left = request.maxBytes() - used;
            if (left <= 0) {
                return 0;
            }
            int granted = (int) Math.min(wanted, left);
            if (captured.compareAndSet(used, used + granted)) {
                return granted;
            }
        }
    }

    void droppedBytes(int bytes) {
        dropped.addAndGet(bytes);
    }

    // The writer thread's side.

    void write(ByteBuffer record) throws IOException {
        if (out == null) {
            return;
        }
        int size = record.remaining();
        while (record.hasRemaining()) {
            out.write(record);
        }
        complete += size; // the writer thread is the only writer
    }

    void closeFile() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
    }
}
