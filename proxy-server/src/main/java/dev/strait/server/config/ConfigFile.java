package dev.strait.server.config;

import dev.strait.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads the config file's text: at most {@value #MAX_BYTES} bytes of strict UTF-8, a leading byte order mark skipped.
 * A larger file is rejected before any of it is parsed, having read no more than one byte past the limit; a byte that
 * is not UTF-8 is rejected with its offset, never replaced.
 */
public final class ConfigFile {
    /** The largest config file accepted (1 MiB). */
    public static final int MAX_BYTES = 1024 * 1024;

    private static final byte[] UTF8_BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private ConfigFile() {}

    /** The file's first bytes, up to one past the limit: enough to tell any two files the loader would tell apart. */
    public static byte[] head(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(MAX_BYTES + 1);
        }
    }

    /** The file's text; every problem is a {@link ConfigException} for {@code --config} naming the file. */
    static String read(Path file) {
        byte[] bytes;
        try {
            bytes = head(file);
        } catch (IOException e) {
            throw new ConfigException("--config", "cannot read \"" + file + "\": " + describe(e));
        }
        if (bytes.length > MAX_BYTES) {
            throw new ConfigException(
                    "--config",
                    "\"" + file + "\" is " + sizeOf(file) + " bytes; the limit is " + MAX_BYTES + " bytes (1 MiB)");
        }
        return utf8(bytes, file.toString());
    }

    /** The text without its byte order mark; a malformed byte is an error naming its offset. */
    private static String utf8(byte[] bytes, String source) {
        int start = bytes.length >= 3 && Arrays.equals(bytes, 0, 3, UTF8_BOM, 0, 3) ? 3 : 0;
        ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never decodes to more chars than bytes
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            int offset = in.position(); // an absolute index into bytes: wrap() keeps the array's offsets
            throw new ConfigException(
                    "--config",
                    "\"" + source + "\" is not valid UTF-8: byte 0x"
                            + String.format("%02X", bytes[offset]) + " at offset " + offset + " (line "
                            + (1 + lineBreaksBefore(bytes, offset)) + "); save the file as UTF-8");
        }
        return out.flip().toString();
    }

    private static int lineBreaksBefore(byte[] bytes, int offset) {
        int count = 0;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n') {
                count++;
            }
        }
        return count;
    }

    /** The file's size for an error message; a file that shrank or cannot be measured is "more than" the limit. */
    private static String sizeOf(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                return Long.toString(size);
            }
        } catch (IOException e) {
            // fall through: the bytes read already prove the file is too large
        }
        return "more than " + MAX_BYTES;
    }

    private static String describe(IOException e) {
        String type = e.getClass().getSimpleName();
        return switch (type) {
            case "NoSuchFileException" -> "no such file";
            case "AccessDeniedException" -> "permission denied";
            default -> e.getMessage() == null ? type : e.getMessage();
        };
    }
}
