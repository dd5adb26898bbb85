package dev.strait.proxyprotocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.ProxyHeaderVersion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The headers Strait sends: exact bytes and lengths per the spec, and what the parser reads back. */
class ProxyHeaderEncoderTest {
    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    private static final InetSocketAddress SRC4 = new InetSocketAddress("192.0.2.10", 56324);
    private static final InetSocketAddress DST4 = new InetSocketAddress("198.51.100.1", 443);
    private static final InetSocketAddress SRC6 = new InetSocketAddress("2001:db8::10", 1234);
    private static final InetSocketAddress DST6 = new InetSocketAddress("::1", 5432);

    @Test
    void writesV1ForIpv4AndIpv6() {
        assertThat(text(ProxyHeaderVersion.V1, SRC4, DST4))
                .isEqualTo("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n");
        assertThat(text(ProxyHeaderVersion.V1, SRC6, DST6)).isEqualTo("PROXY TCP6 2001:db8::10 ::1 1234 5432\r\n");
        assertThat(text(ProxyHeaderVersion.V1, SRC4, DST6))
                .as("mixed families: IPv4 mapped into IPv6")
                .isEqualTo("PROXY TCP6 ::ffff:192.0.2.10 ::1 56324 5432\r\n");
    }

    @Test
    void writesV1UnknownWhenTheSourceIsNotAnIpAddress() {
        SocketAddress unknown = new SocketAddress() {
            private static final long serialVersionUID = 1L;
        };
        assertThat(text(ProxyHeaderVersion.V1, unknown, DST4)).isEqualTo("PROXY UNKNOWN\r\n");
    }

    @Test
    void writesV2Tcp4AndTcp6WithExactLengths() throws Exception {
        ByteBuf v4 = ProxyHeaderEncoder.encode(ProxyHeaderVersion.V2, SRC4, DST4, Optional.empty(), ALLOC);
        assertThat(ByteBufUtil.hexDump(v4))
                .isEqualTo(
                        "0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "c000020a" + "c6336401" + "dc04" + "01bb");
        v4.release();
        ByteBuf v6 = ProxyHeaderEncoder.encode(ProxyHeaderVersion.V2, SRC6, DST6, Optional.empty(), ALLOC);
        assertThat(v6.readableBytes()).isEqualTo(16 + 36);
        assertThat(v6.getUnsignedByte(13)).isEqualTo((short) 0x21);
        assertThat(v6.getUnsignedShort(14)).isEqualTo(36);
        ProxyHeader back = ProxyHeaderParser.parse(v6);
        assertThat(back.source()).isEqualTo(SRC6);
        assertThat(back.destination()).isEqualTo(DST6);
        v6.release();
    }

    @Test
    void writesV2LocalWhenTheSourceIsUnknownAndForHealthChecks() {
        ByteBuf local = ProxyHeaderEncoder.encode(ProxyHeaderVersion.V2, null, DST4, Optional.empty(), ALLOC);
        assertThat(ByteBufUtil.hexDump(local)).isEqualTo("0d0a0d0a000d0a515549540a" + "20" + "00" + "0000");
        local.release();
        ByteBuf probe = ProxyHeaderEncoder.v2Local(ALLOC);
        assertThat(ByteBufUtil.hexDump(probe)).isEqualTo("0d0a0d0a000d0a515549540a20000000");
        probe.release();
    }

    @Test
    void carriesTheServerNameInAV2AuthorityTlv() throws Exception {
        ByteBuf h = ProxyHeaderEncoder.encode(ProxyHeaderVersion.V2, SRC4, DST4, Optional.of("db1.test"), ALLOC);
        assertThat(h.readableBytes()).isEqualTo(16 + 12 + 3 + 8);
        assertThat(ProxyHeaderParser.parse(h).authority()).contains("db1.test");
        h.release();
        ByteBuf v1 = ProxyHeaderEncoder.encode(ProxyHeaderVersion.V1, SRC4, DST4, Optional.of("db1.test"), ALLOC);
        assertThat(v1.toString(StandardCharsets.US_ASCII)).doesNotContain("db1");
        v1.release();
    }

    @Test
    void roundTripsRandomAddressesThroughTheParser() throws Exception {
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            InetSocketAddress src = random(random);
            InetSocketAddress dst = random(random);
            for (ProxyHeaderVersion version : new ProxyHeaderVersion[] {ProxyHeaderVersion.V1, ProxyHeaderVersion.V2}) {
                ByteBuf h = ProxyHeaderEncoder.encode(version, src, dst, Optional.empty(), ALLOC);
                ProxyHeader back = ProxyHeaderParser.parse(h);
                assertThat(back.length()).isEqualTo(h.readableBytes());
                if (version == ProxyHeaderVersion.V1) {
                    assertThat(back.length()).isLessThanOrEqualTo(ProxyHeaderParser.V1_MAX_LENGTH);
                }
                assertThat(back.source().getPort()).isEqualTo(src.getPort());
                assertThat(back.destination().getPort()).isEqualTo(dst.getPort());
                if (src.getAddress().getClass() == dst.getAddress().getClass()) {
                    assertThat(back.source()).isEqualTo(src);
                    assertThat(back.destination()).isEqualTo(dst);
                }
                h.release();
            }
        }
    }

    @Test
    void refusesToEncodeOff() {
        assertThatThrownBy(() -> ProxyHeaderEncoder.encode(ProxyHeaderVersion.OFF, SRC4, DST4, Optional.empty(), ALLOC))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static InetSocketAddress random(Random random) {
        byte[] raw = new byte[random.nextBoolean() ? 4 : 16];
        random.nextBytes(raw);
        try {
            return new InetSocketAddress(java.net.InetAddress.getByAddress(raw), random.nextInt(65536));
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static String text(ProxyHeaderVersion v, SocketAddress src, SocketAddress dst) {
        ByteBuf h = ProxyHeaderEncoder.encode(v, src, dst, Optional.empty(), ALLOC);
        try {
            return h.toString(StandardCharsets.US_ASCII);
        } finally {
            h.release();
        }
    }
}
