package dev.strait.server.probe;

import dev.strait.config.PostgresLogin;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * PostgreSQL's startup handshake, as HAProxy's {@code option pgsql-check}: a StartupMessage (protocol 3.0), and any
 * well-formed first reply counts as up: an authentication request ('R') or an error ('E', such as "role does not
 * exist") shows a server that speaks PostgreSQL.
 *
 * <p>Closing in order is what keeps the server's log quiet: after AuthenticationOk the probe sends Terminate ('X'),
 * so the session ends as psql's would; after a request for a password it sends nothing more, since the server
 * takes a bare FIN there as a client giving up (and would log "expected password response" for an 'X').
 */
final class PostgresDialog implements ProbeDialog {
    private static final int PROTOCOL_3_0 = 196_608;
    private static final int AUTHENTICATION_OK = 0;
    private static final int HEADER = 5; // type byte and int32 length

    private final byte[] startup;

    PostgresDialog(PostgresLogin login) {
        byte[] parameters = ("user\0" + login.user() + "\0database\0" + login.database()
                        + "\0application_name\0strait-health-check\0\0")
                .getBytes(StandardCharsets.UTF_8);
        ByteBuf message = Unpooled.buffer(8 + parameters.length);
        message.writeInt(8 + parameters.length).writeInt(PROTOCOL_3_0).writeBytes(parameters);
        this.startup = message.array();
    }

    @Override
    public ByteBuf request(ByteBufAllocator alloc) {
        return alloc.buffer(startup.length).writeBytes(startup);
    }

    @Override
    public Optional<Verdict> judge(ByteBuf reply, boolean ended) {
        int received = reply.readableBytes();
        if (received < HEADER) {
            return ended ? Optional.of(Verdict.down(cutShort(received))) : Optional.empty();
        }
        byte type = reply.getByte(reply.readerIndex());
        int length = reply.getInt(reply.readerIndex() + 1);
        if (type == 'R' && length >= 8) {
            if (received < HEADER + 4) {
                return ended ? Optional.of(Verdict.down(cutShort(received))) : Optional.empty();
            }
            int code = reply.getInt(reply.readerIndex() + HEADER);
            return Optional.of(Verdict.up(
                    code == AUTHENTICATION_OK
                            ? "PostgreSQL: authentication ok"
                            : "PostgreSQL: asks for authentication"));
        }
        if (type == 'E' && length >= 4) {
            if (received < 1 + length && !ended) {
                return Optional.empty();
            }
            return Optional.of(Verdict.up("PostgreSQL: error reply \"" + message(reply) + "\""));
        }
        return Optional.of(Verdict.down("not a PostgreSQL reply: \"" + ProbeDialog.excerpt(reply) + "\""));
    }

    @Override
    public ByteBuf farewell(ByteBuf reply, ByteBufAllocator alloc) {
        boolean authenticated = reply.readableBytes() >= HEADER + 4
                && reply.getByte(reply.readerIndex()) == 'R'
                && reply.getInt(reply.readerIndex() + HEADER) == AUTHENTICATION_OK;
        return authenticated ? alloc.buffer(HEADER).writeByte('X').writeInt(4) : null;
    }

    private static String cutShort(int received) {
        return "PostgreSQL reply ended after " + received + " bytes";
    }

    /** The 'M' (message) field of an ErrorResponse, or what of it arrived. */
    private static String message(ByteBuf reply) {
        int at = reply.readerIndex() + HEADER;
        int end = reply.writerIndex();
        while (at < end && reply.getByte(at) != 0) {
            byte field = reply.getByte(at++);
            int zero = reply.indexOf(at, end, (byte) 0);
            int stop = zero < 0 ? end : zero;
            if (field == 'M') {
                return reply.toString(at, stop - at, StandardCharsets.UTF_8)
                        .replace("\"", "'")
                        .replace("\n", " ");
            }
            at = stop + 1;
        }
        return "";
    }
}
