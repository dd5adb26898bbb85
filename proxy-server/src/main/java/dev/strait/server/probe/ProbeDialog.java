package dev.strait.server.probe;

import dev.strait.config.HealthCheck;
import dev.strait.config.HealthCheckType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What a probe says after connecting and which reply counts as up: one implementation per kind of check. A dialog
 * holds no per-probe state; {@link ProbeHandler} keeps the reply and asks the dialog to judge it as it grows.
 */
sealed interface ProbeDialog permits TcpDialog, HttpDialog, PostgresDialog {

    /** The bytes to send once connected, or null to send nothing. */
    ByteBuf request(ByteBufAllocator alloc);

    /**
     * Judges the reply so far (at most {@link HealthCheck#MAX_REPLY_BYTES}); empty asks for more. When {@code ended}
     * (the backend closed, or the reply filled the limit) the answer is never empty.
     */
    Optional<Verdict> judge(ByteBuf reply, boolean ended);

    /** Bytes to send after a verdict, before the probe's FIN (PostgreSQL's Terminate), or null for none. */
    default ByteBuf farewell(ByteBuf reply, ByteBufAllocator alloc) {
        return null;
    }

    /** The dialog {@code check} asks for, against the backend at {@code probed}. */
    static ProbeDialog of(HealthCheck check, InetSocketAddress probed) {
        if (check.type() == HealthCheckType.POSTGRES) {
            return new PostgresDialog(check.postgres());
        }
        if (check.http().isPresent()) {
            return new HttpDialog(check.http().get(), probed);
        }
        return new TcpDialog(bytes(check.send()), bytes(check.expect()), bytes(check.expectContains()));
    }

    private static byte[] bytes(Optional<String> text) {
        return text.orElse("").getBytes(StandardCharsets.UTF_8);
    }

    /** Up to 80 characters of the reply on one line, for a reason. */
    static String excerpt(ByteBuf reply) {
        int length = Math.min(reply.readableBytes(), 80);
        return reply.toString(reply.readerIndex(), length, StandardCharsets.UTF_8)
                .replace("\r", "\\r")
                .replace("\n", "\\n");
    }
}
