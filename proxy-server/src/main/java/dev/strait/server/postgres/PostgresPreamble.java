package dev.strait.server.postgres;

import io.netty.buffer.ByteBuf;

/**
 * What a PostgreSQL client sent first, read from the start of what has arrived so far: one of the requests a server
 * answers before the startup message ({@code SSLRequest}, {@code GSSENCRequest}), a {@code CancelRequest}, a startup
 * message, or a TLS ClientHello (PostgreSQL 17's direct TLS). Shared by every stage that peeks at the preamble.
 *
 * <p>A startup message's first byte is its length's top byte, 0 for any length PostgreSQL accepts, so a first byte of
 * 22 (a TLS handshake record) cannot be one.
 */
public final class PostgresPreamble {
    /** {@code SSLRequest}'s code (in place of the protocol version): 1234 in the high half, 5679 in the low. */
    public static final int SSL_REQUEST = 80877103;

    public static final int GSSENC_REQUEST = 80877104;
    public static final int CANCEL_REQUEST = 80877102;
    /** A {@code CancelRequest}'s longest form: protocol 3.2's keys are up to 256 bytes. */
    public static final int MAX_CANCEL = 268;
    /** PostgreSQL's {@code MAX_STARTUP_PACKET_LENGTH}: a longer first message is refused. */
    public static final int MAX_STARTUP = 10_000;

    private static final int TLS_HANDSHAKE_RECORD = 22;

    /** The kinds of first message. */
    public enum Kind {
        /** Fewer than 8 bytes, and not TLS: the length and code have not come yet. */
        NEED_MORE,
        /** A TLS record: the client starts TLS without asking (direct TLS). */
        DIRECT_TLS,
        SSL_REQUEST,
        GSSENC_REQUEST,
        CANCEL_REQUEST,
        /** Any other code with a plausible length: a startup message, {@code code} its protocol version. */
        STARTUP,
        /** A length no PostgreSQL server accepts (below 8, above {@value #MAX_STARTUP}, or a malformed request). */
        INVALID
    }

    /**
     * A first message.
     *
     * @param kind what it is
     * @param length its length field (0 for {@code NEED_MORE} and {@code DIRECT_TLS})
     * @param code the code after the length (a request's, or a startup message's protocol version)
     * @param available how many bytes have arrived, this message's and any after it
     */
    public record Message(Kind kind, int length, int code, int available) {
        /** Whether bytes came after this message, before the server answered it. */
        public boolean trailing() {
            return available > length;
        }

        /** Whether the whole message has come. */
        public boolean whole() {
            return available >= length;
        }
    }

    private PostgresPreamble() {}

    /** Reads {@code in}'s first message from its reader index, without moving it. */
    public static Message read(ByteBuf in) {
        int available = in.readableBytes();
        if (available > 0 && in.getUnsignedByte(in.readerIndex()) == TLS_HANDSHAKE_RECORD) {
            return new Message(Kind.DIRECT_TLS, 0, 0, available);
        }
        if (available < 8) {
            return new Message(Kind.NEED_MORE, 0, 0, available);
        }
        int length = in.getInt(in.readerIndex());
        int code = in.getInt(in.readerIndex() + 4);
        Kind kind;
        if (code == SSL_REQUEST || code == GSSENC_REQUEST) {
            kind = length != 8 ? Kind.INVALID : code == SSL_REQUEST ? Kind.SSL_REQUEST : Kind.GSSENC_REQUEST;
        } else if (code == CANCEL_REQUEST) {
            kind = length >= 16 && length <= MAX_CANCEL ? Kind.CANCEL_REQUEST : Kind.INVALID;
        } else {
            kind = length >= 8 && length <= MAX_STARTUP ? Kind.STARTUP : Kind.INVALID;
        }
        return new Message(kind, length, code, available);
    }

    /** A request's name, for logs. */
    public static String name(Kind kind) {
        return switch (kind) {
            case SSL_REQUEST -> "SSLRequest";
            case GSSENC_REQUEST -> "GSSENCRequest";
            case CANCEL_REQUEST -> "CancelRequest";
            case STARTUP -> "startup message";
            case DIRECT_TLS -> "TLS ClientHello";
            default -> "first message";
        };
    }
}
