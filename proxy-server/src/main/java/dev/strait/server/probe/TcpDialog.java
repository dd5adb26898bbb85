package dev.strait.server.probe;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * A TCP connect, then optionally {@code send} and a reply that starts with {@code expect} and/or contains {@code
 * expectContains}; with neither, the connect alone is the check. Redis's {@code INFO replication} with {@code
 * expectContains: "role:master"} tells the primary from a replica.
 */
final class TcpDialog implements ProbeDialog {
    private final byte[] send;
    private final byte[] expect;
    private final byte[] contains;

    /** Each argument empty when not configured. */
    TcpDialog(byte[] send, byte[] expect, byte[] contains) {
        this.send = send.clone();
        this.expect = expect.clone();
        this.contains = contains.clone();
    }

    @Override
    public ByteBuf request(ByteBufAllocator alloc) {
        return send.length == 0 ? null : alloc.buffer(send.length).writeBytes(send);
    }

    @Override
    public Optional<Verdict> judge(ByteBuf reply, boolean ended) {
        int received = reply.readableBytes();
        if (expect.length == 0 && contains.length == 0) {
            return Optional.of(Verdict.up("connected"));
        }
        if (received < expect.length) {
            return ended
                    ? Optional.of(Verdict.down(
                            "reply ended after " + received + " bytes: \"" + ProbeDialog.excerpt(reply) + "\""))
                    : Optional.empty();
        }
        byte[] start = ByteBufUtil.getBytes(reply, reply.readerIndex(), expect.length);
        if (!Arrays.equals(start, expect)) {
            return Optional.of(Verdict.down("unexpected reply \"" + ProbeDialog.excerpt(reply) + "\""));
        }
        if (contains.length == 0) {
            return Optional.of(Verdict.up("reply starts with the expected bytes"));
        }
        if (ByteBufUtil.indexOf(Unpooled.wrappedBuffer(contains), reply) >= 0) {
            return Optional.of(Verdict.up("reply contains \"" + text(contains) + "\""));
        }
        return ended
                ? Optional.of(Verdict.down("no \"" + text(contains) + "\" in the first " + received + " bytes of the"
                        + " reply \"" + ProbeDialog.excerpt(reply) + "\""))
                : Optional.empty();
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8).replace("\r", "\\r").replace("\n", "\\n");
    }
}
