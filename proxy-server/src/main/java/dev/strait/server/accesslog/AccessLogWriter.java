package dev.strait.server.accesslog;

import static java.util.Objects.requireNonNull;

import dev.strait.config.AccessLog;
import dev.strait.config.ConfigException;
import dev.strait.server.metrics.ProxyMetrics;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One access log target (standard output or a file) in one format: event loops {@link #write} lines into a bounded
 * queue, never waiting (a full queue drops the line and counts it in {@code strait_access_log_dropped_total}); one
 * thread of its own looks every 20 ms (it is not woken per line), formats what it finds and writes it in batches,
 * flushing when the queue is empty. A file is opened when the writer is made (so an unwritable path fails the start,
 * naming {@code accessLog.target}), appended to, and reopened by {@link #reopen} (SIGHUP, after logrotate moved it).
 */
public final class AccessLogWriter implements AutoCloseable {
    /** How long the thread sleeps when it found nothing to write: the most a line waits before it is written. */
    private static final long IDLE_PAUSE_MILLIS = 20;

    /** Lines held while the thread writes: a burst of this many closes in a moment is absorbed, then lines drop. */
    static final int CAPACITY = 65_536;

    private static final Logger log = LogManager.getLogger(AccessLogWriter.class);
    private static final int BATCH = 512;

    private final AccessLog.Format format;
    private final String target;
    private final ProxyMetrics metrics;
    private final BlockingQueue<AccessLogLine> queue;
    private final Thread thread;
    private volatile boolean reopen;
    private volatile boolean closing;
    private OutputStream out; // the thread's after start

    /** Opens the target and starts the writer's thread. */
    public AccessLogWriter(AccessLog.Format format, String target, ProxyMetrics metrics) {
        this(format, target, metrics, CAPACITY);
    }

    AccessLogWriter(AccessLog.Format format, String target, ProxyMetrics metrics, int capacity) {
        this.format = requireNonNull(format, "format");
        this.target = requireNonNull(target, "target");
        this.metrics = requireNonNull(metrics, "metrics");
        this.queue = new ArrayBlockingQueue<>(capacity);
        try {
            this.out = open();
        } catch (IOException e) {
            throw ConfigException.badValue(
                    AccessLog.TARGET.name(), target, "a file Strait can create or append to (" + e.getMessage() + ")");
        }
        this.thread = new Thread(this::run, "strait-access-log");
        thread.setDaemon(true);
    }

    /** Starts writing what is queued; separate from the constructor, so that a failed start leaves no thread. */
    public AccessLogWriter start() {
        thread.start();
        return this;
    }

    /** Queues a line; from any thread, never blocks. A full queue drops it, counted. */
    public void write(AccessLogLine line) {
        if (!queue.offer(line)) {
            metrics.accessLogDropped();
        }
    }

    /** Reopens a file target before the next line (for logrotate); a no-op for standard output. */
    public void reopen() {
        reopen = true;
    }

    public String target() {
        return target;
    }

    public AccessLog.Format format() {
        return format;
    }

    private OutputStream open() throws IOException {
        if (AccessLog.STDOUT.equals(target)) {
            // The access log is the program's output here: System.out, as the diagnostic log's console appender
            // uses, so that whoever redirected standard output (a test harness included) gets it. One synchronized
            // write per batch: lines never tear.
            return System.out;
        }
        return new BufferedOutputStream(new FileOutputStream(target, true), 64 * 1024);
    }

    private void run() {
        AccessLogFormat formatter = new AccessLogFormat(format);
        List<AccessLogLine> batch = new ArrayList<>(BATCH);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(64 * 1024);
        while (!closing || !queue.isEmpty()) {
            try {
                if (reopen) {
                    reopenNow();
                }
                queue.drainTo(batch, BATCH);
                if (batch.isEmpty()) {
                    // Polled on a timer, not woken per line: an event loop's offer then never has a sleeping thread
                    // to signal (a futex call and a context switch per connection, on a machine the loops share).
                    Thread.sleep(IDLE_PAUSE_MILLIS);
                    continue;
                }
                buffer.reset();
                for (AccessLogLine line : batch) {
                    buffer.writeBytes(formatter.format(line));
                }
                batch.clear();
                buffer.writeTo(out);
                if (queue.isEmpty()) {
                    out.flush();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                batch.clear();
                log.warn("access log {}: cannot write ({}); lines are lost until it works again", target, e.toString());
            }
        }
        flushQuietly();
    }

    private void reopenNow() {
        reopen = false;
        if (AccessLog.STDOUT.equals(target)) {
            return;
        }
        try {
            OutputStream fresh = open();
            closeQuietly();
            out = fresh;
            log.info("access log {} reopened", target);
        } catch (IOException e) {
            log.warn("access log {}: cannot reopen ({}); still writing to the old file", target, e.toString());
        }
    }

    private void flushQuietly() {
        try {
            out.flush();
        } catch (IOException e) {
            log.warn("access log {}: cannot flush ({})", target, e.toString());
        }
    }

    private void closeQuietly() {
        try {
            out.flush();
            if (!AccessLog.STDOUT.equals(target)) {
                out.close();
            }
        } catch (IOException e) {
            log.warn("access log {}: cannot close ({})", target, e.toString());
        }
    }

    /** Writes what is queued, then stops the thread and closes a file target (waits up to 5s). */
    @Override
    public void close() {
        closing = true;
        if (thread.isAlive()) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!thread.isAlive()) {
            closeQuietly();
        }
    }
}
