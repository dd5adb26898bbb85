package dev.strait.server.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.RouteCapture;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The writer thread: pcap records tshark reads (IPv6, segments above one record's size), and a queue that refuses. */
class CaptureWriterTest {
    @TempDir
    Path dir;

    private static CaptureRequest request() {
        return new CaptureRequest("r", Optional.empty(), new RouteCapture(Duration.ofMinutes(1), 1L << 30, 1L << 30));
    }

    @Test
    void writesAnIpv6StreamWithSegmentsLargerThanOneRecordThatTsharkReassembles() throws Exception {
        Path file = dir.resolve("v6.pcap");
        Capture capture = new Capture(
                "c1", request(), file, FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        CaptureWriter writer = new CaptureWriter(64, 64L << 20);
        InetAddress v6 = InetAddress.getByName("::1");
        TcpFlow flow = new TcpFlow(new InetSocketAddress(v6, 40000), new InetSocketAddress(v6, 5432));
        byte[] up = random(200_000, 1); // above PcapFormat.MAX_PAYLOAD: split into records
        byte[] down = random(70_000, 2);
        long now = System.currentTimeMillis() * 1000;

        assertThat(writer.offer(new Segment(capture, flow, Segment.Kind.OPEN, true, null, now)))
                .isTrue();
        assertThat(writer.offer(new Segment(capture, flow, Segment.Kind.DATA, true, up, now)))
                .isTrue();
        assertThat(writer.offer(new Segment(capture, flow, Segment.Kind.DATA, false, down, now)))
                .isTrue();
        assertThat(writer.offer(new Segment(capture, flow, Segment.Kind.CLOSE, true, null, now)))
                .isTrue();
        writer.endOfFile(capture);
        writer.shutdown(10_000);

        String out = tshark(file, "follow,tcp,raw,0");
        assertThat(out).contains("Node 0: [::1]:40000").contains("Node 1: [::1]:5432");
        StringBuilder fromClient = new StringBuilder();
        StringBuilder fromServer = new StringBuilder();
        for (String line : out.split("\n")) {
            if (line.matches("\t[0-9a-f]+")) {
                fromServer.append(line.trim());
            } else if (line.matches("[0-9a-f]+")) {
                fromClient.append(line.trim());
            }
        }
        assertThat(fromClient.toString()).isEqualTo(HexFormat.of().formatHex(up));
        assertThat(fromServer.toString()).isEqualTo(HexFormat.of().formatHex(down));
        assertThat(capture.completeBytes()).isEqualTo(Files.size(file));
    }

    /**
     * A writer stuck on its file (a FIFO nobody reads) never holds up the event loops: once its queue is full, offers
     * are refused at once and the caller counts the bytes as dropped. A blocking offer would hang here until the
     * timeout fails the test.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void refusesSegmentsOnceItsQueueIsFullInsteadOfBlockingTheCaller() throws Exception {
        Path fifo = dir.resolve("stuck");
        Process mkfifo =
                new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).isZero();
        // Read-write: opening a FIFO so does not wait for a reader; its 64 KiB buffer then fills and writes block.
        FileChannel out = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Capture capture = new Capture("c1", request(), fifo, out);
        CaptureWriter writer = new CaptureWriter(8, 1L << 20);
        TcpFlow flow = new TcpFlow(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 1),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 2));
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < 1_000; i++) {
            Segment s = new Segment(capture, flow, Segment.Kind.DATA, true, new byte[16_384], 0);
            if (writer.offer(s)) {
                accepted++;
            } else {
                refused++;
            }
        }
        assertThat(refused)
                .as("refused once the queue (8 segments, 1 MiB) and the FIFO are full")
                .isPositive();
        assertThat(accepted).as("what the FIFO took plus the queue").isLessThan(100);
        writer.shutdown(1_000); // interrupts the stuck write
        out.close();
    }

    private static String tshark(Path file, String stat) throws Exception {
        Process p = new ProcessBuilder("tshark", "-r", file.toString(), "-q", "-z", stat)
                .redirectErrorStream(true)
                .start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
