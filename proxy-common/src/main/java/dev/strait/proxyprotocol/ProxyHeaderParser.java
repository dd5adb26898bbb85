package dev.strait.proxyprotocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Reads a PROXY protocol header (v1 or v2, as HAProxy's {@code proxy-protocol.txt} defines them) from the start of a
 * buffer that may hold only part of it, or the header and the client's first payload bytes.
 *
 * <p>{@link #parse} never moves the buffer's indexes: it returns null while the header is incomplete, the header
 * (with its length) once whole, and throws {@link ProxyHeaderException} as soon as the bytes so far cannot start a
 * valid one. Reasons: {@code bad_signature} (neither {@code "PROXY "} nor the v2 signature), {@code too_long} (a v1
 * line without its CRLF in 107 bytes), {@code malformed} (a v1 line out of syntax, a v2 address block shorter than its
 * family's), {@code bad_version}, {@code bad_command}, {@code bad_family}, {@code tlv_overrun} (a v2 TLV running past
 * the header), {@code bad_checksum} (a v2 {@code PP2_TYPE_CRC32C} that does not match; Netty's decoder does not check
 * it).
 *
 * <p>Unlike Netty's {@code HAProxyMessageDecoder}, it holds no state and makes no copy, so the owner keeps the bytes
 * that follow the header and passes them on first, byte-exact. Stateless and thread-safe.
 */
public final class ProxyHeaderParser {
    /** The longest v1 header, CRLF included. */
    public static final int V1_MAX_LENGTH = 107;
    /** The v2 signature, the first 12 bytes of every v2 header. */
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private static final byte[] V1_SIGNATURE = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    private static final int V2_FIXED = 16;
    private static final int TLV_AUTHORITY = 0x02;
    private static final int TLV_CRC32C = 0x03;

    private ProxyHeaderParser() {}

    /** The header at {@code in}'s reader index, or null if more bytes are needed; {@code in} is left as it was. */
    public static ProxyHeader parse(ByteBuf in) throws ProxyHeaderException {
        if (!in.isReadable()) {
            return null;
        }
        byte first = in.getByte(in.readerIndex());
        if (first == V1_SIGNATURE[0]) {
            return v1(in);
        }
        if (first == V2_SIGNATURE[0]) {
            return v2(in);
        }
        throw new ProxyHeaderException("bad_signature", "not a PROXY protocol header");
    }

    /** Whether {@code in} starts with the whole signature (true), a prefix of it (false), or something else. */
    private static boolean signatureSoFar(ByteBuf in, byte[] signature) throws ProxyHeaderException {
        int n = Math.min(in.readableBytes(), signature.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != signature[i]) {
                throw new ProxyHeaderException("bad_signature", "not a PROXY protocol header");
            }
        }
        return n == signature.length;
    }

    private static ProxyHeader v1(ByteBuf in) throws ProxyHeaderException {
        int start = in.readerIndex();
        int available = Math.min(in.readableBytes(), V1_MAX_LENGTH);
        if (!signatureSoFar(in, V1_SIGNATURE)) {
            return null;
        }
        int lf = in.indexOf(start, start + available, (byte) '\n');
        if (lf < 0) {
            if (in.readableBytes() >= V1_MAX_LENGTH) {
                throw new ProxyHeaderException("too_long", "v1 header without CRLF in " + V1_MAX_LENGTH + " bytes");
            }
            return null;
        }
        if (lf - start < V1_SIGNATURE.length + 1 || in.getByte(lf - 1) != '\r') {
            throw new ProxyHeaderException("malformed", "v1 header line does not end with CRLF");
        }
        int lineStart = start + V1_SIGNATURE.length;
        int lineEnd = lf - 1;
        for (int i = lineStart; i < lineEnd; i++) {
            byte b = in.getByte(i);
            if (b < 0x20 || b > 0x7e) {
                throw new ProxyHeaderException("malformed", "v1 header with a non-printable byte");
            }
        }
        String line = in.toString(lineStart, lineEnd - lineStart, StandardCharsets.US_ASCII);
        int length = lf + 1 - start;
        if (line.equals("UNKNOWN") || line.startsWith("UNKNOWN ")) {
            return new ProxyHeader(1, length, null, null, Optional.empty()); // the rest is to be ignored
        }
        String[] parts = line.split(" ", -1);
        boolean tcp4 = parts[0].equals("TCP4");
        if (!tcp4 && !parts[0].equals("TCP6")) {
            throw new ProxyHeaderException("bad_family", "v1 protocol is not TCP4, TCP6 or UNKNOWN");
        }
        if (parts.length != 5) {
            throw new ProxyHeaderException("malformed", "v1 header needs 2 addresses and 2 ports");
        }
        InetAddress source = v1Address(parts[1], tcp4);
        InetAddress destination = v1Address(parts[2], tcp4);
        return new ProxyHeader(
                1,
                length,
                new InetSocketAddress(source, v1Port(parts[3])),
                new InetSocketAddress(destination, v1Port(parts[4])),
                Optional.empty());
    }

    private static InetAddress v1Address(String text, boolean v4) throws ProxyHeaderException {
        boolean valid =
                v4 ? NetUtil.isValidIpV4Address(text) : NetUtil.isValidIpV6Address(text) && text.indexOf('%') < 0;
        byte[] bytes = valid ? NetUtil.createByteArrayFromIpAddressString(text) : null;
        if (bytes == null || bytes.length != (v4 ? 4 : 16)) {
            throw new ProxyHeaderException("malformed", "v1 address is not an IPv" + (v4 ? "4" : "6") + " literal");
        }
        return address(bytes);
    }

    private static int v1Port(String text) throws ProxyHeaderException {
        boolean digits = !text.isEmpty() && text.length() <= 5 && (text.length() == 1 || text.charAt(0) != '0');
        for (int i = 0; digits && i < text.length(); i++) {
            digits = text.charAt(i) >= '0' && text.charAt(i) <= '9';
        }
        int port = digits ? Integer.parseInt(text) : -1;
        if (port < 0 || port > 65535) {
            throw new ProxyHeaderException("malformed", "v1 port is not 0 to 65535");
        }
        return port;
    }

    private static ProxyHeader v2(ByteBuf in) throws ProxyHeaderException {
        int start = in.readerIndex();
        if (!signatureSoFar(in, V2_SIGNATURE) || in.readableBytes() < V2_FIXED) {
            return null;
        }
        int versionCommand = in.getUnsignedByte(start + 12);
        if (versionCommand >> 4 != 2) {
            throw new ProxyHeaderException("bad_version", "v2 header with version " + (versionCommand >> 4));
        }
        int command = versionCommand & 0x0F;
        if (command > 1) {
            throw new ProxyHeaderException("bad_command", "v2 header with command " + command);
        }
        int family = in.getUnsignedByte(start + 13);
        int addressLength =
                switch (family) {
                    case 0x00 -> 0;
                    case 0x11, 0x12 -> 12;
                    case 0x21, 0x22 -> 36;
                    case 0x31, 0x32 -> 216;
                    default -> throw new ProxyHeaderException(
                            "bad_family", "v2 header with family 0x" + Integer.toHexString(family));
                };
        int length = V2_FIXED + in.getUnsignedShort(start + 14);
        if (in.readableBytes() < length) {
            return null;
        }
        if (command == 0) {
            return new ProxyHeader(2, length, null, null, Optional.empty()); // LOCAL: the rest is to be ignored
        }
        if (length - V2_FIXED < addressLength) {
            throw new ProxyHeaderException("malformed", "v2 address block shorter than its family's");
        }
        Optional<String> authority = tlvs(in, start, start + V2_FIXED + addressLength, start + length);
        int at = start + V2_FIXED;
        return switch (family >> 4) {
            case 1 -> new ProxyHeader(
                    2,
                    length,
                    new InetSocketAddress(address(bytes(in, at, 4)), in.getUnsignedShort(at + 8)),
                    new InetSocketAddress(address(bytes(in, at + 4, 4)), in.getUnsignedShort(at + 10)),
                    authority);
            case 2 -> new ProxyHeader(
                    2,
                    length,
                    new InetSocketAddress(address(bytes(in, at, 16)), in.getUnsignedShort(at + 32)),
                    new InetSocketAddress(address(bytes(in, at + 16, 16)), in.getUnsignedShort(at + 34)),
                    authority);
            default -> new ProxyHeader(2, length, null, null, authority); // UNSPEC or UNIX: keep the TCP addresses
        };
    }

    /** Walks the TLVs in [from, end): every one must fit; checks a CRC32C and returns the authority, if any. */
    private static Optional<String> tlvs(ByteBuf in, int start, int from, int end) throws ProxyHeaderException {
        String authority = null;
        int at = from;
        while (at < end) {
            if (end - at < 3) {
                throw new ProxyHeaderException("tlv_overrun", "v2 TLV header runs past the header");
            }
            int type = in.getUnsignedByte(at);
            int length = in.getUnsignedShort(at + 1);
            int value = at + 3;
            if (length > end - value) {
                throw new ProxyHeaderException("tlv_overrun", "v2 TLV value runs past the header");
            }
            if (type == TLV_AUTHORITY) {
                authority = in.toString(value, length, StandardCharsets.UTF_8);
            } else if (type == TLV_CRC32C) {
                checkCrc(in, start, end, value, length);
            }
            at = value + length;
        }
        return Optional.ofNullable(authority);
    }

    private static void checkCrc(ByteBuf in, int start, int end, int value, int length) throws ProxyHeaderException {
        if (length != 4) {
            throw new ProxyHeaderException("malformed", "v2 CRC32C TLV of " + length + " bytes");
        }
        byte[] header = bytes(in, start, end - start);
        int expected = in.getInt(value);
        for (int i = 0; i < 4; i++) {
            header[value - start + i] = 0; // the checksum is computed with its own field zeroed
        }
        CRC32C crc = new CRC32C();
        crc.update(header);
        if ((int) crc.getValue() != expected) {
            throw new ProxyHeaderException("bad_checksum", "v2 CRC32C does not match");
        }
    }

    private static byte[] bytes(ByteBuf in, int at, int length) {
        byte[] out = new byte[length];
        in.getBytes(at, out);
        return out;
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of " + bytes.length + " bytes", e);
        }
    }
}
