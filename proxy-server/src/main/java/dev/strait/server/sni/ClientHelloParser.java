package dev.strait.server.sni;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a TLS ClientHello from the first bytes of a connection, however they were split: across TCP reads and across
 * TLS records (large post-quantum key shares spread one hello over two records), up to {@value #MAX_HELLO} bytes. It
 * takes the server name (SNI, RFC 6066) and the ALPN protocols (RFC 7301), and nothing else.
 *
 * <p>Stateless: each call parses the bytes seen so far from the start, which for a hello of a few KiB costs less than
 * keeping state across reads. Never throws on any input.
 */
public final class ClientHelloParser {
    /** The most a hello may take, records included; longer is an error. */
    public static final int MAX_HELLO = 64 * 1024;

    private static final int HANDSHAKE = 22;
    private static final int CLIENT_HELLO = 1;
    private static final int MAX_RECORD = 16384 + 2048; // TLSCiphertext's bound; a plaintext hello record is <= 2^14

    private ClientHelloParser() {}

    /** What the bytes so far are. */
    public enum Kind {
        /** A hello may still come: read more. */
        NEED_MORE,
        /** A whole ClientHello; {@link Result#serverName} may still be null (no SNI). */
        HELLO,
        /** Not a TLS handshake at all (a plaintext protocol). */
        NOT_TLS,
        /** TLS, but malformed or too long. */
        ERROR
    }

    /**
     * @param serverName lower-case, without a trailing dot; null if the hello has none
     * @param alpn the protocols offered, in order; empty if none
     */
    public record Result(Kind kind, String serverName, List<String> alpn) {
        static final Result NEED_MORE = new Result(Kind.NEED_MORE, null, List.of());
        static final Result NOT_TLS = new Result(Kind.NOT_TLS, null, List.of());
        static final Result ERROR = new Result(Kind.ERROR, null, List.of());
    }

    /** Parses the readable bytes of {@code in} (not moved). */
    public static Result parse(ByteBuf in) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        if (end - start < 1) {
            return Result.NEED_MORE;
        }
        if (in.getUnsignedByte(start) != HANDSHAKE) {
            return Result.NOT_TLS;
        }
        if (end - start >= 2 && in.getUnsignedByte(start + 1) != 3) {
            return Result.NOT_TLS;
        }
        // Gather the handshake bytes of whole records until the ClientHello message is complete.
        byte[] handshake = null;
        int have = 0;
        int need = -1;
        int at = start;
        while (true) {
            if (end - at < 5) {
                return end - start > MAX_HELLO ? Result.ERROR : Result.NEED_MORE;
            }
            if (in.getUnsignedByte(at) != HANDSHAKE || in.getUnsignedByte(at + 1) != 3) {
                return Result.ERROR; // a hello cut by another record type, or a bad version
            }
            int length = in.getUnsignedShort(at + 3);
            if (length == 0 || length > MAX_RECORD) {
                return Result.ERROR;
            }
            if (at + 5 + length - start > MAX_HELLO) {
                return Result.ERROR;
            }
            if (end - at - 5 < length) {
                return Result.NEED_MORE;
            }
            if (handshake == null) {
                handshake = new byte[Math.max(length, 4)];
            }
            if (have + length > handshake.length) {
                byte[] bigger = new byte[Math.max(have + length, need > 0 ? need : 0)];
                System.arraycopy(handshake, 0, bigger, 0, have);
                handshake = bigger;
            }
            in.getBytes(at + 5, handshake, have, length);
            have += length;
            at += 5 + length;
            if (need < 0 && have >= 4) {
                if (handshake[0] != CLIENT_HELLO) {
                    return Result.ERROR;
                }
                need = 4 + (((handshake[1] & 0xff) << 16) | ((handshake[2] & 0xff) << 8) | (handshake[3] & 0xff));
                if (need > MAX_HELLO) {
                    return Result.ERROR;
                }
            }
            if (need >= 0 && have >= need) {
                return body(handshake, 4, need);
            }
        }
    }

    /** The ClientHello body in {@code b[from, to)}. */
    private static Result body(byte[] b, int from, int to) {
        Reader r = new Reader(b, from, to);
        r.skip(2 + 32); // legacy_version, random
        r.skip(r.u8()); // legacy_session_id
        int suites = r.u16();
        if (suites < 2 || suites % 2 != 0) {
            return Result.ERROR;
        }
        r.skip(suites);
        int compressions = r.u8();
        if (compressions < 1) {
            return Result.ERROR;
        }
        r.skip(compressions);
        if (r.bad) {
            return Result.ERROR;
        }
        if (r.at == to) {
            return new Result(Kind.HELLO, null, List.of()); // no extensions at all
        }
        int extLength = r.u16();
        int extEnd = r.at + extLength;
        if (r.bad || extEnd != to) {
            return Result.ERROR;
        }
        String serverName = null;
        List<String> alpn = List.of();
        while (r.at < extEnd && !r.bad) {
            int type = r.u16();
            int length = r.u16();
            int next = r.at + length;
            if (r.bad || next > extEnd) {
                return Result.ERROR;
            }
            if (type == 0 && serverName == null) {
                serverName = serverName(new Reader(b, r.at, next));
                if (serverName == null) {
                    return Result.ERROR;
                }
            } else if (type == 16) {
                alpn = alpn(new Reader(b, r.at, next));
                if (alpn == null) {
                    return Result.ERROR;
                }
            }
            r.at = next;
        }
        return r.bad
                ? Result.ERROR
                : new Result(Kind.HELLO, serverName == null || serverName.isEmpty() ? null : serverName, alpn);
    }

    /** The host_name of a server_name extension; "" if it names none; null if malformed. */
    private static String serverName(Reader r) {
        int listLength = r.u16();
        int listEnd = r.at + listLength;
        if (r.bad || listEnd != r.to) {
            return null;
        }
        String found = "";
        while (r.at < listEnd) {
            int type = r.u8();
            int length = r.u16();
            if (r.bad || r.at + length > listEnd || length == 0) {
                return null;
            }
            if (type == 0 && found.isEmpty()) {
                String name = new String(r.b, r.at, length, StandardCharsets.US_ASCII);
                for (int i = 0; i < name.length(); i++) {
                    char c = name.charAt(i);
                    if (c <= 0x20 || c >= 0x7f) {
                        return null; // not a host name: no NUL tricks, no spaces
                    }
                }
                found = name.toLowerCase(Locale.ROOT);
                if (found.endsWith(".")) {
                    found = found.substring(0, found.length() - 1);
                }
            }
            r.at += length;
        }
        return found;
    }

    private static List<String> alpn(Reader r) {
        int listLength = r.u16();
        int listEnd = r.at + listLength;
        if (r.bad || listEnd != r.to) {
            return null;
        }
        List<String> protocols = new ArrayList<>(2);
        while (r.at < listEnd) {
            int length = r.u8();
            if (r.bad || length == 0 || r.at + length > listEnd) {
                return null;
            }
            protocols.add(new String(r.b, r.at, length, StandardCharsets.ISO_8859_1));
            r.at += length;
        }
        return List.copyOf(protocols);
    }

    /** A bounds-checked cursor: any read past {@code to} sets {@code bad} instead of throwing. */
    private static final class Reader {
        final byte[] b;
        final int to;
        int at;
        boolean bad;

        Reader(byte[] b, int from, int to) {
            this.b = b;
            this.at = from;
            this.to = to;
        }

        int u8() {
            if (at + 1 > to) {
                bad = true;
                at = to;
                return 0;
            }
            return b[at++] & 0xff;
        }

        int u16() {
            if (at + 2 > to) {
                bad = true;
                at = to;
                return 0;
            }
            int v = ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
            at += 2;
            return v;
        }

        void skip(int n) {
            if (at + n > to) {
                bad = true;
                at = to;
            } else {
                at += n;
            }
        }
    }
}
