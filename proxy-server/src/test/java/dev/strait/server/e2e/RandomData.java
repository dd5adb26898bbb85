package dev.strait.server.e2e;

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

/** Reproducible pseudo-random bulk data and SHA-256 checksums of it. */
final class RandomData {
    private static final byte[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".getBytes(StandardCharsets.US_ASCII);
    private static final int CHUNK = 1 << 20;

    private RandomData() {}

    /** Writes {@code size} random bytes to {@code file} and returns their SHA-256 in hex. */
    static String writeFile(Path file, long size, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        MessageDigest sha256 = sha256();
        byte[] chunk = new byte[CHUNK];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= chunk.length) {
                int n = (int) Math.min(chunk.length, left);
                random.nextBytes(chunk);
                sha256.update(chunk, 0, n);
                out.write(chunk, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha256.digest());
    }

    static String sha256Of(Path file) throws IOException {
        MessageDigest sha256 = sha256();
        byte[] chunk = new byte[CHUNK];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
                sha256.update(chunk, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha256.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /**
     * A stream of {@code lineCount} lines of {@code lineLength - 1} random letters and digits plus a newline:
     * text that COPY's text format carries verbatim, one row per line.
     */
    static InputStream lines(long lineCount, int lineLength, long seed) {
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
    static final class Sink extends OutputStream {
        private final MessageDigest sha256 = sha256();
        private long count;

        @Override
        public void write(int b) {
            sha256.update((byte) b);
            count++;
        }

        @Override
        public void write(byte[] buffer, int offset, int length) {
            sha256.update(buffer, offset, length);
            count += length;
        }

        long count() {
            return count;
        }

        String sha256Hex() {
            return HexFormat.of().formatHex(sha256.digest());
        }
    }
}
