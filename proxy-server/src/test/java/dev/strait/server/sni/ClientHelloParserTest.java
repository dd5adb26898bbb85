package dev.strait.server.sni;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.sni.ClientHelloParser.Kind;
import dev.strait.server.sni.ClientHelloParser.Result;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientHelloParserTest {

    @Test
    void readsTheServerNameAndAlpnOfAHelloInOneRecord() {
        Result r = parse(TlsHellos.hello("DB1.Example.COM.", "postgresql", "h2"));

        assertThat(r.kind()).isEqualTo(Kind.HELLO);
        assertThat(r.serverName()).isEqualTo("db1.example.com");
        assertThat(r.alpn()).containsExactly("postgresql", "h2");
    }

    @Test
    void readsTheJdksOwnClientHello() throws Exception {
        Result r = parse(TlsHellos.jdkHello("db2.test", "postgresql"));

        assertThat(r.kind()).isEqualTo(Kind.HELLO);
        assertThat(r.serverName()).isEqualTo("db2.test");
        assertThat(r.alpn()).containsExactly("postgresql");
    }

    @Test
    void readsAHelloWithoutSniAsAHelloWithoutAName() {
        Result r = parse(TlsHellos.hello(null));

        assertThat(r.kind()).isEqualTo(Kind.HELLO);
        assertThat(r.serverName()).isNull();
        assertThat(r.alpn()).isEmpty();
    }

    @Test
    void needsMoreForEveryProperPrefixAndReadsTheWholeOfATwoKilobyteHelloSpreadOverRecords() {
        // A post-quantum key share: about 2 KB of hello, here in records of 512, 1000 and 16384 bytes.
        byte[] handshake = TlsHellos.handshake("pq.example.com", List.of("h2"), 1216);
        for (int recordSize : new int[] {1, 7, 512, 1000, 16384}) {
            byte[] hello = TlsHellos.records(handshake, recordSize);
            for (int cut = 0; cut < hello.length; cut += recordSize == 1 ? 97 : 1) {
                assertThat(parse(Arrays.copyOf(hello, cut)).kind())
                        .as("record size %d, first %d bytes", recordSize, cut)
                        .isEqualTo(Kind.NEED_MORE);
            }
            Result whole = parse(hello);
            assertThat(whole.kind()).isEqualTo(Kind.HELLO);
            assertThat(whole.serverName()).isEqualTo("pq.example.com");
            assertThat(whole.alpn()).containsExactly("h2");
        }
    }

    @Test
    void tellsPlaintextFromTls() {
        assertThat(parse("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII))
                        .kind())
                .isEqualTo(Kind.NOT_TLS);
        assertThat(parse(new byte[] {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f}).kind())
                .isEqualTo(Kind.NOT_TLS);
        assertThat(parse(new byte[] {22, 9}).kind()).isEqualTo(Kind.NOT_TLS);
    }

    @Test
    void rejectsMalformedHellos() {
        byte[] hello = TlsHellos.hello("a.example.com", "h2");
        byte[] notHello = hello.clone();
        notHello[5] = 2; // a ServerHello
        assertThat(parse(notHello).kind()).isEqualTo(Kind.ERROR);

        byte[] overrun = hello.clone();
        overrun[5 + 4 + 2 + 32] = 64; // a session id longer than the hello
        assertThat(parse(overrun).kind()).isEqualTo(Kind.ERROR);

        byte[] alert = TlsHellos.records(TlsHellos.handshake("x.example.com", List.of(), 0), 20);
        alert[5 + 20] = 21; // the second record is an alert
        assertThat(parse(alert).kind()).isEqualTo(Kind.ERROR);

        byte[] emptyRecord = {22, 3, 1, 0, 0};
        assertThat(parse(emptyRecord).kind()).isEqualTo(Kind.ERROR);
    }

    @Test
    void rejectsAHelloLongerThanSixtyFourKibibytes() {
        byte[] huge = {22, 3, 1, 0x40, 0, 1, 0x01, 0, 0}; // a record, then a handshake header claiming 64 KiB
        assertThat(parse(huge).kind()).isEqualTo(Kind.NEED_MORE);
        byte[] claims = {22, 3, 1, 0, 4, 1, 0x02, 0, 0}; // 128 KiB claimed
        assertThat(parse(claims).kind()).isEqualTo(Kind.ERROR);
    }

    @Test
    void neverThrowsOnTruncatedOrFlippedBytes() {
        byte[] hello = TlsHellos.records(TlsHellos.handshake("f.example.com", List.of("postgresql"), 300), 100);
        for (int i = 0; i < hello.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = hello.clone();
                flipped[i] ^= (byte) (1 << bit);
                assertThat(parse(flipped).kind()).isNotNull();
            }
        }
    }

    private static Result parse(byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            int before = buf.readerIndex();
            Result r = ClientHelloParser.parse(buf);
            assertThat(buf.readerIndex()).isEqualTo(before);
            return r;
        } finally {
            buf.release();
        }
    }
}
