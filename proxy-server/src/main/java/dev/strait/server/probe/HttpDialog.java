package dev.strait.server.probe;

import dev.strait.config.HttpCheck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTP/1.1 {@code GET} with {@code Connection: close}; the backend is up when the status line carries the expected
 * status, whatever the body. Patroni's {@code GET /primary} answers 200 on the leader and 503 elsewhere.
 */
final class HttpDialog implements ProbeDialog {
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3})(?: .*)?");

    private final byte[] request;
    private final int expectStatus;

    HttpDialog(HttpCheck http, InetSocketAddress probed) {
        String host = http.host().orElseGet(() -> hostHeader(probed));
        this.request = ("GET " + http.path() + " HTTP/1.1\r\n"
                        + "Host: " + host + "\r\n"
                        + "User-Agent: strait-health-check\r\n"
                        + "Accept: */*\r\n"
                        + "Connection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        this.expectStatus = http.expectStatus();
    }

    @Override
    public ByteBuf request(ByteBufAllocator alloc) {
        return alloc.buffer(request.length).writeBytes(request);
    }

    @Override
    public Optional<Verdict> judge(ByteBuf reply, boolean ended) {
        int lineEnd = ByteBufUtil.indexOf(reply, reply.readerIndex(), reply.writerIndex(), (byte) '\n');
        if (lineEnd < 0) {
            return ended
                    ? Optional.of(Verdict.down("no HTTP status line in \"" + ProbeDialog.excerpt(reply) + "\""))
                    : Optional.empty();
        }
        String line = reply.toString(reply.readerIndex(), lineEnd - reply.readerIndex(), StandardCharsets.ISO_8859_1)
                .strip();
        Matcher status = STATUS_LINE.matcher(line);
        if (!status.matches()) {
            return Optional.of(Verdict.down("not an HTTP status line: \"" + ProbeDialog.excerpt(reply) + "\""));
        }
        int code = Integer.parseInt(status.group(1));
        return Optional.of(
                code == expectStatus
                        ? Verdict.up("HTTP " + code)
                        : Verdict.down("HTTP " + code + " (expected " + expectStatus + ")"));
    }

    /** The probed address as a {@code Host} header: {@code host:port}, an IPv6 literal in brackets. */
    private static String hostHeader(InetSocketAddress probed) {
        String host = probed.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + probed.getPort();
    }
}
