package dev.strait.server.support;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Reproducible pseudo-random data (streamed in random chunk sizes, as a file, or as text lines) and SHA-256 checksums
 * of what was written and read, for byte-exact checks; and what a handler test's channel wrote.
 */
public final class Bytes {
    private static final byte[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".getBytes(StandardCharsets.US_ASCII);
    private static final int FILE_CHUNK = 1 << 20;

    private Bytes() {}

    /** Writes {@code total} pseudo-random bytes in chunks of 1 byte to {@code maxChunk}; returns their SHA-256. */
    public static String writeRandom(OutputStream out, long total, int maxChunk, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        MessageDigest digest = sha256();
        byte[] buffer = new byte[maxChunk];
        long left = total;
        while (left > 0) {
            int n = (int) Math.min(left, 1 + random.nextInt(maxChunk));
            for (int i = 0; i < n; i++) {
                buffer[i] = (byte) random.nextInt(256);
            }
            out.write(buffer, 0, n);
            digest.update(buffer, 0, n);
            left -= n;
        }
        out.flush();
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Reads to end of stream; returns the SHA-256 and the count. */
    public static Digest readAll(InputStream in) throws IOException {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[64 * 1024];
        long count = 0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            digest.update(buffer, 0, n);
            count += n;
        }
        return new Digest(HexFormat.of().formatHex(digest.digest()), count);
    }

    /** The SHA-256 and length of bytes already read. */
    public static Digest digestOf(byte[] data) {
        return new Digest(HexFormat.of().formatHex(sha256().digest(data)), data.length);
    }

    /** Reads exactly {@code n} bytes or fails. */
    public static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] data = in.readNBytes(n);
        if (data.length != n) {
            throw new IOException("stream ended after " + data.length + " of " + n + " bytes");
        }
        return data;
    }

    /** Writes {@code size} pseudo-random bytes to {@code file}; returns their SHA-256. */
    public static String writeFile(Path file, long size, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        MessageDigest digest = sha256();
        byte[] chunk = new byte[FILE_CHUNK];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= chunk.length) {
                int n = (int) Math.min(chunk.length, left);
                random.nextBytes(chunk);
                digest.update(chunk, 0, n);
                out.write(chunk, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The SHA-256 of a file's content. */
    public static String sha256Of(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readAll(in).sha256();
        }
    }

    /**
     * A stream of {@code lineCount} lines of {@code lineLength - 1} random letters and digits plus a newline: text that
     * PostgreSQL's COPY text format carries verbatim, one row per line.
     */
    public static InputStream lines(long lineCount, int lineLength, long seed) {
        return new InputStream() {
            private final SplittableRandom random = new SplittableRandom(seed);
            private final long size = lineCount * lineLength;
            private long position;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) {
                if (position == size) {
                    return -1;
                }
                int n = (int) Math.min(length, size - position);
                for (int i = 0; i < n; i++, position++) {
                    buffer[offset + i] = position % lineLength == lineLength - 1
                            ? (byte) '\n'
                            : ALPHABET[random.nextInt(ALPHABET.length)];
                }
                return n;
            }
        };
    }

    /** An output stream that only counts and hashes what it is given. */
    public static final class Sink extends OutputStream {
        private final MessageDigest digest = sha256();
        private long count;

        @Override
        public void write(int b) {
            digest.update((byte) b);
            count++;
        }

        @Override
        public void write(byte[] buffer, int offset, int length) {
            digest.update(buffer, offset, length);
            count += length;
        }

        /** The count and SHA-256 so far; call once. */
        public Digest digest() {
            return new Digest(HexFormat.of().formatHex(digest.digest()), count);
        }
    }

    /** Everything {@code channel} has written so far, in order; its buffers released. */
    public static byte[] drainOutbound(EmbeddedChannel channel) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object m; (m = channel.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) m;
            out.writeBytes(ByteBufUtil.getBytes(buf));
            buf.release();
        }
        return out.toByteArray();
    }

    /** What {@link #readAll} saw. */
    public record Digest(String sha256, long count) {}

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
