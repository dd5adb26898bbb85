package dev.strait.proxyprotocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** Every header form of the spec, every malformed case the issue lists, and a header arriving byte by byte. */
class ProxyHeaderParserTest {
    static final byte[] SIG = ProxyHeaderParser.V2_SIGNATURE;

    @Test
    void readsAV1Tcp4HeaderAndLeavesThePayload() throws Exception {
        ByteBuf in = ascii("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nGET /");
        ProxyHeader h = ProxyHeaderParser.parse(in);
        assertThat(h.version()).isEqualTo(1);
        assertThat(h.length()).isEqualTo("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n".length());
        assertThat(h.source()).isEqualTo(new InetSocketAddress("192.0.2.10", 56324));
        assertThat(h.destination()).isEqualTo(new InetSocketAddress("198.51.100.1", 443));
        assertThat(in.readerIndex()).as("the parser does not move the buffer").isZero();
        in.release();
    }

    @Test
    void readsAV1Tcp6Header() throws Exception {
        ProxyHeader h = parse(ascii("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"));
        assertThat(h.source()).isEqualTo(new InetSocketAddress("2001:db8::1", 65535));
        assertThat(h.destination()).isEqualTo(new InetSocketAddress("::1", 0));
    }

    @Test
    void keepsTheTcpAddressesForV1Unknown() throws Exception {
        assertThat(parse(ascii("PROXY UNKNOWN\r\n")).namesClient()).isFalse();
        String line = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
        ProxyHeader h = parse(ascii(line + "payload"));
        assertThat(h.namesClient()).isFalse();
        assertThat(h.length()).isEqualTo(line.length());
    }

    @Test
    void acceptsTheLongestV1HeaderAndRefusesOneByteMore() throws Exception {
        String longest = "PROXY UNKNOWN " + "x".repeat(ProxyHeaderParser.V1_MAX_LENGTH - 16) + "\r\n";
        assertThat(longest).hasSize(107);
        assertThat(parse(ascii(longest)).length()).isEqualTo(107);
        String tooLong = "PROXY UNKNOWN " + "x".repeat(ProxyHeaderParser.V1_MAX_LENGTH - 15) + "\r\n";
        assertRefused(ascii(tooLong), "too_long");
        assertRefused(ascii("PROXY TCP4 " + "1".repeat(200)), "too_long");
    }

    @Test
    void refusesMalformedV1Lines() {
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 ::1 192.0.2.2 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP6 192.0.2.1 ::1 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 256.0.2.1 192.0.2.2 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n"), "malformed");
        assertRefused(ascii("PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n"), "malformed");
        assertRefused(ascii("PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n"), "bad_family");
        assertRefused(ascii("PROXY \r\n"), "bad_family");
    }

    @Test
    void refusesAWrongSignatureAsSoonAsOneByteDiffers() {
        assertRefused(ascii("GET / HTTP/1.1\r\n"), "bad_signature");
        assertRefused(ascii("PROXX"), "bad_signature");
        assertRefused(ascii("proxy TCP4"), "bad_signature");
        assertRefused(Unpooled.wrappedBuffer(new byte[] {0x0D, 0x0A, 0x0D, 0x0B}), "bad_signature");
        assertRefused(Unpooled.wrappedBuffer(new byte[] {0x16, 0x03, 0x01}), "bad_signature");
    }

    @Test
    void readsV2Tcp4AndTcp6() throws Exception {
        ProxyHeader h4 = parse(v2(0x21, 0x11, tcp4Block(), new byte[0]));
        assertThat(h4.version()).isEqualTo(2);
        assertThat(h4.length()).isEqualTo(28);
        assertThat(h4.source()).isEqualTo(new InetSocketAddress("192.0.2.10", 56324));
        assertThat(h4.destination()).isEqualTo(new InetSocketAddress("198.51.100.1", 443));

        ProxyHeader h6 = parse(v2(0x21, 0x21, tcp6Block(), new byte[0]));
        assertThat(h6.length()).isEqualTo(52);
        assertThat(h6.source()).isEqualTo(new InetSocketAddress("2001:db8::10", 1234));
        assertThat(h6.destination()).isEqualTo(new InetSocketAddress("::1", 5432));
    }

    @Test
    void keepsTheTcpAddressesForV2LocalUnspecAndUnix() throws Exception {
        ProxyHeader local = parse(v2(0x20, 0x00, new byte[0], new byte[0]));
        assertThat(local.namesClient()).isFalse();
        assertThat(local.length()).isEqualTo(16);
        assertThat(parse(v2(0x20, 0x11, tcp4Block(), new byte[0])).namesClient())
                .as("LOCAL ignores the addresses it carries")
                .isFalse();
        assertThat(parse(v2(0x21, 0x00, new byte[0], new byte[0])).namesClient())
                .isFalse();
        ProxyHeader unix = parse(v2(0x21, 0x31, new byte[216], new byte[0]));
        assertThat(unix.namesClient()).isFalse();
        assertThat(unix.length()).isEqualTo(16 + 216);
    }

    @Test
    void readsTlvsTakesTheAuthorityAndChecksTheCrc32c() throws Exception {
        byte[] tlvs = concat(tlv(0x04, new byte[5]), tlv(0x02, "db1.example.com".getBytes(StandardCharsets.UTF_8)));
        ProxyHeader h = parse(v2(0x21, 0x11, tcp4Block(), tlvs));
        assertThat(h.authority()).contains("db1.example.com");
        assertThat(h.length()).isEqualTo(16 + 12 + tlvs.length);

        ByteBuf good = v2WithCrc(false);
        assertThat(parse(good).namesClient()).isTrue();
        assertRefused(v2WithCrc(true), "bad_checksum");
        assertRefused(v2(0x21, 0x11, tcp4Block(), tlv(0x03, new byte[3])), "malformed");
    }

    @Test
    void refusesATlvRunningPastTheHeader() {
        assertRefused(v2(0x21, 0x11, tcp4Block(), new byte[] {0x04, 0x00, 0x05, 1, 2}), "tlv_overrun");
        assertRefused(v2(0x21, 0x11, tcp4Block(), new byte[] {0x04, 0x00}), "tlv_overrun");
        assertRefused(v2(0x21, 0x11, tcp4Block(), new byte[] {0x04}), "tlv_overrun");
    }

    @Test
    void refusesAWrongVersionCommandFamilyOrShortAddressBlock() {
        assertRefused(v2(0x11, 0x11, tcp4Block(), new byte[0]), "bad_version");
        assertRefused(v2(0x31, 0x11, tcp4Block(), new byte[0]), "bad_version");
        assertRefused(v2(0x22, 0x11, tcp4Block(), new byte[0]), "bad_command");
        assertRefused(v2(0x21, 0x13, tcp4Block(), new byte[0]), "bad_family");
        assertRefused(v2(0x21, 0x41, tcp4Block(), new byte[0]), "bad_family");
        assertRefused(v2(0x21, 0x21, tcp4Block(), new byte[0]), "malformed");
        assertRefused(v2(0x21, 0x11, new byte[11], new byte[0]), "malformed");
    }

    @Test
    void needsMoreAtEveryOffsetOfAnIncompleteHeader() throws Exception {
        for (ByteBuf whole : new ByteBuf[] {
            ascii("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"),
            v2(0x21, 0x21, tcp6Block(), tlv(0x02, "x".getBytes(StandardCharsets.UTF_8))),
            v2(0x20, 0x00, new byte[0], new byte[0])
        }) {
            for (int n = 0; n < whole.readableBytes(); n++) {
                ByteBuf part = whole.retainedSlice(0, n);
                try {
                    assertThat(ProxyHeaderParser.parse(part))
                            .as("%d of %d bytes", n, whole.readableBytes())
                            .isNull();
                } finally {
                    part.release();
                }
            }
            assertThat(ProxyHeaderParser.parse(whole).length()).isEqualTo(whole.readableBytes());
            whole.release();
        }
    }

    static ProxyHeader parse(ByteBuf in) throws ProxyHeaderException {
        try {
            return ProxyHeaderParser.parse(in);
        } finally {
            in.release();
        }
    }

    static void assertRefused(ByteBuf in, String reason) {
        try {
            assertThatThrownBy(() -> ProxyHeaderParser.parse(in))
                    .isInstanceOf(ProxyHeaderException.class)
                    .extracting(e -> ((ProxyHeaderException) e).reason())
                    .isEqualTo(reason);
        } finally {
            in.release();
        }
    }

    static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    static ByteBuf v2(int versionCommand, int family, byte[] addresses, byte[] tlvs) {
        ByteBuf out = Unpooled.buffer();
        out.writeBytes(SIG).writeByte(versionCommand).writeByte(family);
        out.writeShort(addresses.length + tlvs.length).writeBytes(addresses).writeBytes(tlvs);
        return out;
    }

    static byte[] tcp4Block() {
        return new byte[] {(byte) 192, 0, 2, 10, (byte) 198, 51, 100, 1, (byte) 0xDC, 0x04, 0x01, (byte) 0xBB};
    }

    static byte[] tcp6Block() {
        ByteBuf b = Unpooled.buffer(36);
        b.writeBytes(new byte[] {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10});
        b.writeBytes(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        b.writeShort(1234).writeShort(5432);
        byte[] out = new byte[36];
        b.readBytes(out);
        return out;
    }

    static byte[] tlv(int type, byte[] value) {
        byte[] out = new byte[3 + value.length];
        out[0] = (byte) type;
        out[1] = (byte) (value.length >> 8);
        out[2] = (byte) value.length;
        System.arraycopy(value, 0, out, 3, value.length);
        return out;
    }

    private static ByteBuf v2WithCrc(boolean corrupt) {
        ByteBuf h = v2(0x21, 0x11, tcp4Block(), tlv(0x03, new byte[4]));
        CRC32C crc = new CRC32C();
        byte[] all = new byte[h.readableBytes()];
        h.getBytes(0, all);
        crc.update(all);
        h.setInt(h.writerIndex() - 4, (int) crc.getValue() ^ (corrupt ? 1 : 0));
        return h;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
