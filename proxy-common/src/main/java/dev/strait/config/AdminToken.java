package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/**
 * The secret every {@code POST} to the admin endpoint must carry as {@code Authorization: Bearer <token>}
 * ({@code admin.token}, typically {@code ${STRAIT_ADMIN_TOKEN}}).
 *
 * <p>At least {@value #MIN_LENGTH} visible ASCII characters, so that it cannot be guessed in a few tries. The value
 * never appears in {@link #toString()} or in a config error, so that a logged config or a failed start does not leak
 * it. {@link #matches} compares in constant time.
 */
public record AdminToken(String value) {
    public static final int MIN_LENGTH = 16;

    public AdminToken {
        requireNonNull(value, "value");
    }

    /**
     * Parses {@code text} given for {@code key}, where an empty value (such as {@code ${STRAIT_ADMIN_TOKEN:-}} with the
     * variable unset) means no token.
     */
    public static Optional<AdminToken> parseOptional(String key, String text) {
        return text.isEmpty() ? Optional.empty() : Optional.of(parse(key, text));
    }

    /** Parses {@code text} given for {@code key}; the error names the key and the length, never the value. */
    public static AdminToken parse(String key, String text) {
        if (text.length() < MIN_LENGTH) {
            throw new ConfigException(
                    key, "must be at least " + MIN_LENGTH + " characters (the value given has " + text.length() + ")");
        }
        if (!text.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new ConfigException(key, "must be visible ASCII characters only, no spaces (value not shown)");
        }
        return new AdminToken(text);
    }

    /** Whether {@code presented} is this token, in time that depends on neither's content nor length. */
    public boolean matches(String presented) {
        if (presented == null) {
            return false;
        }
        // Digests first: MessageDigest.isEqual is constant-time only for inputs of equal length.
        return MessageDigest.isEqual(sha256(value), sha256(presented));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "AdminToken[hidden]";
    }
}
