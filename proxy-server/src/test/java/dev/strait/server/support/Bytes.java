package dev.strait.server.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Random data written in random chunk sizes, and SHA-256 of what was read, for byte-exact checks. */
public final class Bytes {
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

    /** What {@link #readAll} saw. */
    public record Digest(String sha256, long count) {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
