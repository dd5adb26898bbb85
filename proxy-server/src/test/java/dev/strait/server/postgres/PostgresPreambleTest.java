package dev.strait.server.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.postgres.PostgresPreamble.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class PostgresPreambleTest {
    @Test
    void readsEachKindOfFirstMessage() {
        assertThat(kind()).isEqualTo(Kind.NEED_MORE);
        assertThat(kind(0, 0, 0, 8, 4, 0xd2, 0x16)).isEqualTo(Kind.NEED_MORE);
        assertThat(kind(0x16, 3, 1)).isEqualTo(Kind.DIRECT_TLS);
        assertThat(kind(0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f)).isEqualTo(Kind.SSL_REQUEST);
        assertThat(kind(0, 0, 0, 8, 4, 0xd2, 0x16, 0x30)).isEqualTo(Kind.GSSENC_REQUEST);
        assertThat(kind(0, 0, 0, 16, 4, 0xd2, 0x16, 0x2e)).isEqualTo(Kind.CANCEL_REQUEST);
        assertThat(kind(0, 0, 1, 12, 4, 0xd2, 0x16, 0x2e))
                .as("protocol 3.2's longest key")
                .isEqualTo(Kind.CANCEL_REQUEST);
        assertThat(kind(0, 0, 1, 13, 4, 0xd2, 0x16, 0x2e)).isEqualTo(Kind.INVALID);
        assertThat(kind(0, 0, 0, 12, 4, 0xd2, 0x16, 0x2e)).isEqualTo(Kind.INVALID);
        assertThat(kind(0, 0, 0, 9, 4, 0xd2, 0x16, 0x2f)).isEqualTo(Kind.INVALID);
        assertThat(kind(0, 0, 0, 23, 0, 3, 0, 0)).isEqualTo(Kind.STARTUP);
        assertThat(kind(0, 0, 0x27, 0x10, 0, 3, 0, 0)).as("10000 bytes").isEqualTo(Kind.STARTUP);
        assertThat(kind(0, 0, 0x27, 0x11, 0, 3, 0, 0)).isEqualTo(Kind.INVALID);
        assertThat(kind(0, 0, 0, 7, 0, 3, 0, 0)).isEqualTo(Kind.INVALID);
    }

    @Test
    void tellsWhetherBytesCameAfterTheMessage() {
        PostgresPreamble.Message alone = read(0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f);
        PostgresPreamble.Message followed = read(0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f, 0);
        PostgresPreamble.Message partial = read(0, 0, 0, 23, 0, 3, 0, 0, 'u');
        assertThat(alone.trailing()).isFalse();
        assertThat(alone.whole()).isTrue();
        assertThat(followed.trailing()).isTrue();
        assertThat(partial.whole()).isFalse();
        assertThat(partial.code()).isEqualTo(3 << 16);
    }

    @Test
    void readsFromTheReaderIndexWithoutMovingIt() {
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {9, 9, 0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f});
        in.skipBytes(2);
        assertThat(PostgresPreamble.read(in).kind()).isEqualTo(Kind.SSL_REQUEST);
        assertThat(in.readerIndex()).isEqualTo(2);
        in.release();
    }

    private static Kind kind(int... bytes) {
        return read(bytes).kind();
    }

    private static PostgresPreamble.Message read(int... bytes) {
        byte[] raw = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            raw[i] = (byte) bytes[i];
        }
        ByteBuf in = Unpooled.wrappedBuffer(raw);
        try {
            return PostgresPreamble.read(in);
        } finally {
            in.release();
        }
    }
}
