package dev.strait.server.capture;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The pcap file format (the classic one every tool reads) with link type RAW: each record is an IPv4 or IPv6 packet
 * carrying one TCP segment, synthesised from what a proxied socket read or wrote. Checksums: the IPv4 header's is
 * right; the TCP checksum is left 0 (Wireshark does not check it by default, as with captures of offloading NICs).
 */
final class PcapFormat {
    /** The largest TCP payload per record, so that an IPv6 packet stays within 65,535 bytes. */
    static final int MAX_PAYLOAD = 65_535 - 60 - 20;

    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int PSH = 0x08;
    static final int ACK = 0x10;

    private static final int LINKTYPE_RAW = 101;
    private static final int TCP_HEADER = 20;

    private PcapFormat() {}

    /** The 24-byte file header: microsecond timestamps, snap length 65,535, link type RAW. */
    static ByteBuffer fileHeader() {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0);
        b.putInt(65_535).putInt(LINKTYPE_RAW);
        return b.flip();
    }

    /**
     * One record: a TCP segment from {@code from} to {@code to} carrying {@code length} bytes of {@code payload}
     * from {@code offset}.
     *
     * @param micros the capture time, microseconds since the epoch
     */
    static ByteBuffer record(
            long micros,
            InetSocketAddress from,
            InetSocketAddress to,
            long seq,
            long ack,
            int flags,
            byte[] payload,
            int offset,
            int length) {
        if (length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload above " + MAX_PAYLOAD + ": " + length);
        }
        byte[] src = from.getAddress().getAddress();
        byte[] dst = to.getAddress().getAddress();
        boolean v4 = from.getAddress() instanceof Inet4Address && to.getAddress() instanceof Inet4Address;
        if (!v4) {
            src = v6(src);
            dst = v6(dst);
        }
        int ipHeader = v4 ? 20 : 40;
        int packet = ipHeader + TCP_HEADER + length;
        ByteBuffer b = ByteBuffer.allocate(16 + packet);
        b.order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) (micros / 1_000_000))
                .putInt((int) (micros % 1_000_000))
                .putInt(packet)
                .putInt(packet);
        b.order(ByteOrder.BIG_ENDIAN);
        int ipStart = b.position();
        if (v4) {
            b.put((byte) 0x45)
                    .put((byte) 0)
                    .putShort((short) packet)
                    .putShort((short) 0)
                    .putShort((short) 0x4000);
            b.put((byte) 64).put((byte) 6).putShort((short) 0).put(src).put(dst);
            b.putShort(ipStart + 10, ipv4Checksum(b, ipStart));
        } else {
            b.putInt(0x60000000)
                    .putShort((short) (TCP_HEADER + length))
                    .put((byte) 6)
                    .put((byte) 64);
            b.put(src).put(dst);
        }
        b.putShort((short) from.getPort()).putShort((short) to.getPort());
        b.putInt((int) seq).putInt((flags & ACK) != 0 ? (int) ack : 0);
        b.put((byte) (TCP_HEADER / 4 << 4)).put((byte) flags).putShort((short) 65_535);
        b.putShort((short) 0).putShort((short) 0); // checksum (not computed), urgent pointer
        b.put(payload, offset, length);
        return b.flip();
    }

    private static byte[] v6(byte[] address) {
        if (address.length == 16) {
            return address;
        }
        byte[] mapped = new byte[16]; // an IPv4 side of a mixed pair: ::ffff:a.b.c.d
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(address, 0, mapped, 12, 4);
        return mapped;
    }

    private static short ipv4Checksum(ByteBuffer b, int start) {
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += b.getShort(start + i) & 0xffff;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (short) ~sum;
    }
}
