package dev.strait.server.capture;

import dev.strait.transport.ErrorText;
import java.io.IOException;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The one thread that writes capture files. Taps {@link #offer} segments from event loops and never wait: a queue
 * bounded in count and in bytes refuses what does not fit, and the tap counts it as dropped. Each segment becomes pcap
 * records in its capture's file.
 */
final class CaptureWriter implements Runnable {
    private static final Logger log = LogManager.getLogger(CaptureWriter.class);
    private static final Segment WAKE_UP = new Segment(null, null, Segment.Kind.DATA, false, null, 0);

    private final BlockingQueue<Segment> queue;
    private final long maxQueuedBytes;
    private final AtomicLong queuedBytes = new AtomicLong();
    private final Queue<Capture> closing = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    CaptureWriter(int maxSegments, long maxQueuedBytes) {
        this.queue = new ArrayBlockingQueue<>(maxSegments);
        this.maxQueuedBytes = maxQueuedBytes;
        this.thread = new Thread(this, "strait-capture-writer");
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues a segment unless the queue is full (in count or bytes); never blocks. */
    boolean offer(Segment segment) {
        int size = segment.size();
        if (queuedBytes.addAndGet(size) > maxQueuedBytes) {
            queuedBytes.addAndGet(-size);
            return false;
        }
        if (!queue.offer(segment)) {
            queuedBytes.addAndGet(-size);
            return false;
        }
        return true;
    }

    /** Closes {@code capture}'s file once every segment queued before this call is written; never blocks. */
    void endOfFile(Capture capture) {
        closing.add(capture);
        queue.offer(WAKE_UP); // if the queue is full, the writer finds the request once it has drained it
    }

    /** Stops the thread after what is queued is written; waits up to {@code millis}. */
    void shutdown(long millis) {
        stopping = true;
        queue.offer(WAKE_UP);
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.interrupt();
    }

    @Override
    public void run() {
        try {
            while (true) {
                Segment s = queue.poll(1, TimeUnit.SECONDS);
                if (s != null && s != WAKE_UP) {
                    queuedBytes.addAndGet(-s.size());
                    write(s);
                }
                if (queue.isEmpty()) {
                    // Everything queued before a close request is written now.
                    for (Capture c; (c = closing.poll()) != null; ) {
                        closeQuietly(c);
                    }
                    if (stopping) {
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Capture c) {
        try {
            c.closeFile();
        } catch (IOException e) {
            log.warn("capture {}: cannot close {}: {}", c.id(), c.file(), ErrorText.of(e));
        }
    }

    private static void write(Segment s) {
        Capture c = s.capture();
        try {
            switch (s.kind()) {
                case OPEN -> open(s);
                case DATA -> data(s);
                case CLOSE -> close(s);
            }
        } catch (IOException e) {
            log.warn("capture {}: cannot write {}: {}; stopping it", c.id(), c.file(), ErrorText.of(e));
            c.stop();
            closeQuietly(c);
        }
    }

    private static void open(Segment s) throws IOException {
        TcpFlow f = s.flow();
        Capture c = s.capture();
        long t = s.micros();
        byte[] none = new byte[0];
        c.write(PcapFormat.record(t, f.initiator, f.responder, f.initiatorSeq, 0, PcapFormat.SYN, none, 0, 0));
        c.write(PcapFormat.record(
                t,
                f.responder,
                f.initiator,
                f.responderSeq,
                f.initiatorSeq + 1,
                PcapFormat.SYN | PcapFormat.ACK,
                none,
                0,
                0));
        f.initiatorSeq++;
        f.responderSeq++;
        c.write(PcapFormat.record(
                t, f.initiator, f.responder, f.initiatorSeq, f.responderSeq, PcapFormat.ACK, none, 0, 0));
    }

    private static void data(Segment s) throws IOException {
        TcpFlow f = s.flow();
        byte[] bytes = s.bytes();
        for (int off = 0; off < bytes.length; off += PcapFormat.MAX_PAYLOAD) {
            int n = Math.min(PcapFormat.MAX_PAYLOAD, bytes.length - off);
            int flags = PcapFormat.ACK | PcapFormat.PSH;
            if (s.fromInitiator()) {
                s.capture()
                        .write(PcapFormat.record(
                                s.micros(),
                                f.initiator,
                                f.responder,
                                f.initiatorSeq,
                                f.responderSeq,
                                flags,
                                bytes,
                                off,
                                n));
                f.initiatorSeq += n;
            } else {
                s.capture()
                        .write(PcapFormat.record(
                                s.micros(),
                                f.responder,
                                f.initiator,
                                f.responderSeq,
                                f.initiatorSeq,
                                flags,
                                bytes,
                                off,
                                n));
                f.responderSeq += n;
            }
        }
    }

    private static void close(Segment s) throws IOException {
        TcpFlow f = s.flow();
        Capture c = s.capture();
        long t = s.micros();
        byte[] none = new byte[0];
        int finAck = PcapFormat.FIN | PcapFormat.ACK;
        c.write(PcapFormat.record(t, f.initiator, f.responder, f.initiatorSeq, f.responderSeq, finAck, none, 0, 0));
        f.initiatorSeq++;
        c.write(PcapFormat.record(t, f.responder, f.initiator, f.responderSeq, f.initiatorSeq, finAck, none, 0, 0));
        f.responderSeq++;
        c.write(PcapFormat.record(
                t, f.initiator, f.responder, f.initiatorSeq, f.responderSeq, PcapFormat.ACK, none, 0, 0));
    }
}
