package dev.strait.proxyprotocol;

import dev.strait.config.ProxyHeaderVersion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Writes the PROXY protocol header Strait sends first on a backend connection: v1 ({@code PROXY TCP4 ...\r\n}) or v2
 * (binary), for IPv4 and IPv6, each exactly as long as the spec says. When either address is not an IP socket address
 * (unknown), v1 says {@code UNKNOWN} and v2 sends the {@code LOCAL} command, which Netty's encoder cannot do for v1.
 * An IPv4 address paired with an IPv6 one is written as IPv4-mapped IPv6, as HAProxy does. A v2 header carries the
 * server name, when one is known, in a {@code PP2_TYPE_AUTHORITY} TLV.
 *
 * <p>Stateless and thread-safe.
 */
public final class ProxyHeaderEncoder {
    private static final byte[] V1_UNKNOWN = "PROXY UNKNOWN\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int V2_LOCAL = 0x20;
    private static final int V2_PROXY = 0x21;
    private static final int TCP4 = 0x11;
    private static final int TCP6 = 0x21;
    private static final int TLV_AUTHORITY = 0x02;
    private static final int MAX_AUTHORITY = 255;

    private ProxyHeaderEncoder() {}

    /** The v2 {@code LOCAL} header (16 bytes) a health check sends first: "not a proxied connection". */
    public static ByteBuf v2Local(ByteBufAllocator alloc) {
        return alloc.buffer(16)
                .writeBytes(ProxyHeaderParser.V2_SIGNATURE)
                .writeByte(V2_LOCAL)
                .writeByte(0)
                .writeShort(0);
    }

    /**
     * The header of {@code version} (not {@code OFF}) for a client at {@code source} that connected to {@code
     * destination}; {@code authority} is written in a v2 header only.
     */
    public static ByteBuf encode(
            ProxyHeaderVersion version,
            SocketAddress source,
            SocketAddress destination,
            Optional<String> authority,
            ByteBufAllocator alloc) {
        InetSocketAddress src = inet(source);
        InetSocketAddress dst = inet(destination);
        return switch (version) {
            case V1 -> v1(src, dst, alloc);
            case V2 -> v2(src, dst, authority, alloc);
            case OFF -> throw new IllegalArgumentException("no header to encode for sendProxyProtocol off");
        };
    }

    private static InetSocketAddress inet(SocketAddress address) {
        return address instanceof InetSocketAddress a && !a.isUnresolved() ? a : null;
    }

    private static ByteBuf v1(InetSocketAddress src, InetSocketAddress dst, ByteBufAllocator alloc) {
        if (src == null || dst == null) {
            return alloc.buffer(V1_UNKNOWN.length).writeBytes(V1_UNKNOWN);
        }
        boolean v4 = src.getAddress() instanceof Inet4Address && dst.getAddress() instanceof Inet4Address;
        String line = "PROXY " + (v4 ? "TCP4 " : "TCP6 ")
                + text(src.getAddress(), v4) + ' ' + text(dst.getAddress(), v4) + ' '
                + src.getPort() + ' ' + dst.getPort() + "\r\n";
        return alloc.buffer(line.length()).writeBytes(line.getBytes(StandardCharsets.US_ASCII));
    }

    private static String text(InetAddress address, boolean v4) {
        if (v4) {
            return address.getHostAddress();
        }
        return address instanceof Inet4Address
                ? "::ffff:" + address.getHostAddress()
                : NetUtil.toAddressString(address);
    }

    private static ByteBuf v2(
            InetSocketAddress src, InetSocketAddress dst, Optional<String> authority, ByteBufAllocator alloc) {
        if (src == null || dst == null) {
            return v2Local(alloc);
        }
        boolean v4 = src.getAddress() instanceof Inet4Address && dst.getAddress() instanceof Inet4Address;
        byte[] name = authority
                .map(n -> n.getBytes(StandardCharsets.UTF_8))
                .filter(n -> n.length > 0 && n.length <= MAX_AUTHORITY)
                .orElse(null);
        int length = (v4 ? 12 : 36) + (name == null ? 0 : 3 + name.length);
        ByteBuf out = alloc.buffer(16 + length);
        out.writeBytes(ProxyHeaderParser.V2_SIGNATURE).writeByte(V2_PROXY).writeByte(v4 ? TCP4 : TCP6);
        out.writeShort(length);
        if (v4) {
            out.writeBytes(src.getAddress().getAddress())
                    .writeBytes(dst.getAddress().getAddress());
        } else {
            out.writeBytes(v6(src.getAddress())).writeBytes(v6(dst.getAddress()));
        }
        out.writeShort(src.getPort()).writeShort(dst.getPort());
        if (name != null) {
            out.writeByte(TLV_AUTHORITY).writeShort(name.length).writeBytes(name);
        }
        return out;
    }

    /** The 16 bytes of {@code address}: IPv6 as is, IPv4 mapped ({@code ::ffff:a.b.c.d}). */
    private static byte[] v6(InetAddress address) {
        byte[] raw = address.getAddress();
        if (raw.length == 16) {
            return raw;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(raw, 0, mapped, 12, 4);
        return mapped;
    }
}
