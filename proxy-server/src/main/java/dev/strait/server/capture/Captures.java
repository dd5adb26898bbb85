package dev.strait.server.capture;

import static java.util.Objects.requireNonNull;

import dev.strait.relay.RelayHandler;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The server's captures: started, listed, stopped and deleted by the admin endpoint (or a route's {@code capture}
 * config), and consulted once per connection when its relay starts. With no capture running that is one volatile
 * read and nothing is added to the connection.
 *
 * <p>Files are created with mode 0600 under the configured directory. One writer thread, started with the first
 * capture, writes every file. Thread-safe.
 */
public final class Captures implements AutoCloseable {
    /** Captures that may run at once. */
    public static final int MAX_RUNNING = 16;
    /** Captures kept (with their files) at once, running or not; delete old ones to start more. */
    public static final int MAX_KEPT = 64;

    private static final Logger log = LogManager.getLogger(Captures.class);
    private static final int QUEUE_SEGMENTS = 16_384;
    private static final long QUEUE_BYTES = 32L << 20;

    private final Path directory;
    private final Map<String, Capture> kept = new LinkedHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private volatile List<Capture> running = List.of();
    private CaptureWriter writer;
    private boolean closed;

    /** @param directory where capture files go */
    public Captures(Path directory) {
        this.directory = requireNonNull(directory, "directory");
    }

    /**
     * Starts a capture of {@code request}'s route's new connections.
     *
     * @throws IllegalStateException if too many run or are kept already, or the server is stopping
     * @throws IOException if its file cannot be created
     */
    public synchronized Capture start(CaptureRequest request) throws IOException {
        if (closed) {
            throw new IllegalStateException("the server is stopping");
        }
        refreshRunning();
        if (running.size() >= MAX_RUNNING) {
            throw new IllegalStateException(MAX_RUNNING + " captures are running already; stop one first");
        }
        if (kept.size() >= MAX_KEPT) {
            throw new IllegalStateException(MAX_KEPT + " captures are kept already; delete one first");
        }
        String id = "c" + ids.incrementAndGet();
        Path file =
                directory.resolve("strait-capture-" + ProcessHandle.current().pid() + "-" + id + ".pcap");
        FileChannel out = open(file);
        Capture capture;
        try {
            capture = new Capture(id, request, file, out);
        } catch (IOException e) {
            out.close();
            Files.deleteIfExists(file);
            throw e;
        }
        if (writer == null) {
            writer = new CaptureWriter(QUEUE_SEGMENTS, QUEUE_BYTES);
        }
        kept.put(id, capture);
        List<Capture> next = new ArrayList<>(running);
        next.add(capture);
        running = List.copyOf(next);
        log.info(
                "capture {} started: route {}{}, {}s, up to {} bytes, into {}",
                id,
                request.route(),
                request.client().map(c -> " clients " + c.text()).orElse(""),
                request.duration().toSeconds(),
                request.maxBytes(),
                file);
        return capture;
    }

    private static FileChannel open(Path file) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attributes = posix
                ? new FileAttribute<?>[] {
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
                }
                : new FileAttribute<?>[0];
        return FileChannel.open(
                file, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes);
    }

    public synchronized List<Capture> list() {
        refreshRunning();
        return List.copyOf(kept.values());
    }

    public synchronized Optional<Capture> find(String id) {
        return Optional.ofNullable(kept.get(id));
    }

    /** Stops a capture (its file stays, complete, for download); false if there is no such capture. */
    public synchronized boolean stop(String id) {
        Capture c = kept.get(id);
        if (c == null) {
            return false;
        }
        if (c.status() != Capture.Status.STOPPED) {
            c.stop();
            writer.endOfFile(c);
            refreshRunning();
            log.info("capture {} stopped: {} bytes captured, {} dropped", id, c.capturedBytes(), c.droppedBytes());
        }
        return true;
    }

    /** Stops a capture and deletes its file; false if there is no such capture. */
    public synchronized boolean delete(String id) throws IOException {
        if (!stop(id)) {
            return false;
        }
        Capture c = kept.remove(id);
        Files.deleteIfExists(c.file());
        return true;
    }

    /**
     * A connection's relay is starting: if a running capture matches its route and client, taps go in place and both
     * directions copy instead of splicing while the capture lasts. Runs on the connection's event loop.
     *
     * @return where to show what the client sent before the relay started (read already, so no tap saw it); null when
     *     the connection is not captured
     */
    public Consumer<ByteBuf> relayStarting(
            String route,
            SocketAddress client,
            io.netty.channel.Channel frontend,
            io.netty.channel.Channel backend,
            RelayHandler fromClient,
            RelayHandler fromBackend) {
        List<Capture> now = running;
        if (now.isEmpty()) {
            return null;
        }
        for (int i = 0; i < now.size(); i++) {
            Capture c = now.get(i);
            if (client instanceof InetSocketAddress a && c.running() && c.matches(route, a.getAddress())) {
                c.connectionMatched();
                ConnectionCapture captured =
                        new ConnectionCapture(c, writer, frontend, backend, fromClient, fromBackend);
                captured.install();
                return captured::readBeforeRelay; // one capture per connection: the first that matches
            }
        }
        return null;
    }

    /** Drops ended captures from the running list and closes their files once what they queued is written. */
    private void refreshRunning() {
        List<Capture> still = new ArrayList<>();
        for (Capture c : running) {
            if (c.running()) {
                still.add(c);
            } else if (c.status() == Capture.Status.DONE) {
                writer.endOfFile(c);
            }
        }
        running = List.copyOf(still);
    }

    /** Stops every capture (their files stay) and the writer thread. */
    @Override
    public synchronized void close() {
        closed = true;
        for (Capture c : kept.values()) {
            if (c.status() != Capture.Status.STOPPED) {
                c.stop();
                writer.endOfFile(c);
            }
        }
        running = List.of();
        if (writer != null) {
            writer.shutdown(5_000);
        }
    }
}
