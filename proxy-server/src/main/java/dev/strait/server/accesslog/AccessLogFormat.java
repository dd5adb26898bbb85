package dev.strait.server.accesslog;

import dev.strait.config.AccessLog;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.DefaultConfiguration;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.layout.template.json.JsonTemplateLayout;
import org.apache.logging.log4j.message.MapMessage;

/**
 * Turns an {@link AccessLogLine} into bytes: {@code text} is {@code key=value} pairs in the fixed order of
 * {@link #FIELDS}, one line; {@code json} is one object per line with the same fields, written by log4j's JSON
 * template layout (numbers as numbers, {@code true}/{@code false}, null for what is not known yet). Runs on the
 * writer's thread only; not thread-safe.
 */
public final class AccessLogFormat {
    /** Every field, in the order the text format writes them. */
    public static final List<String> FIELDS = List.of(
            "time",
            "event",
            "durationMs",
            "route",
            "client",
            "listener",
            "backend",
            "backendLocal",
            "attempts",
            "waitMs",
            "connectMs",
            "bytesFromClient",
            "bytesFromBackend",
            "spliced",
            "cause",
            "closedFirst",
            "peer",
            "sni",
            "tlsProtocol",
            "tlsCipher",
            "clientSubject");

    private final AccessLog.Format format;
    private final JsonTemplateLayout json;
    private final StringBuilder text = new StringBuilder(320);

    public AccessLogFormat(AccessLog.Format format) {
        this.format = format;
        this.json = format == AccessLog.Format.JSON ? jsonLayout() : null;
    }

    private static JsonTemplateLayout jsonLayout() {
        StringBuilder template = new StringBuilder("{");
        for (String field : FIELDS) {
            if (template.length() > 1) {
                template.append(',');
            }
            template.append('"')
                    .append(field)
                    .append("\":{\"$resolver\":\"map\",\"key\":\"")
                    .append(field)
                    .append("\"}");
        }
        template.append('}');
        return JsonTemplateLayout.newBuilder()
                .setConfiguration(new DefaultConfiguration())
                .setEventTemplate(template.toString())
                .setEventDelimiter("\n")
                .build();
    }

    /** The line, with its newline. */
    public byte[] format(AccessLogLine line) {
        if (json != null) {
            return json.toByteArray(event(line));
        }
        text.setLength(0);
        text.append(line.time())
                .append(" event=")
                .append(line.event())
                .append(" durationMs=")
                .append(line.durationMs())
                .append(" route=")
                .append(line.route())
                .append(" client=");
        address(text, line.client());
        text.append(" listener=");
        address(text, line.listener());
        text.append(" backend=");
        address(text, line.backend());
        text.append(" backendLocal=");
        address(text, line.backendLocal());
        text.append(" attempts=")
                .append(line.attempts())
                .append(" waitMs=")
                .append(line.waitMs())
                .append(" connectMs=")
                .append(line.connectMs())
                .append(" bytesFromClient=")
                .append(line.bytesFromClient())
                .append(" bytesFromBackend=")
                .append(line.bytesFromBackend())
                .append(" spliced=")
                .append(line.spliced())
                .append(" cause=")
                .append(line.cause() == null ? "-" : line.cause())
                .append(" closedFirst=")
                .append(line.closedFirst() == null ? "-" : line.closedFirst())
                .append(" peer=");
        address(text, line.peer());
        text.append(" sni=");
        token(text, line.sni());
        text.append(" tlsProtocol=");
        token(text, line.tlsProtocol());
        text.append(" tlsCipher=");
        token(text, line.tlsCipher());
        text.append(" clientSubject=");
        if (line.clientSubject() == null) {
            text.append('-');
        } else {
            // A subject has spaces and commas: quoted, with quotes and backslashes escaped, on one line.
            text.append('"');
            line.clientSubject().codePoints().forEach(c -> {
                if (c == '"' || c == '\\') {
                    text.append('\\').appendCodePoint(c);
                } else if (c < 0x20 || c == 0x7f) {
                    text.append('?');
                } else {
                    text.appendCodePoint(c);
                }
            });
            text.append('"');
        }
        text.append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static LogEvent event(AccessLogLine line) {
        Fields fields = new Fields()
                .with("time", line.time().toString())
                .with("event", line.event())
                .with("durationMs", line.durationMs())
                .with("route", line.route())
                .with("client", (Object) address(line.client()))
                .with("listener", (Object) address(line.listener()))
                .with("backend", (Object) address(line.backend()))
                .with("backendLocal", (Object) address(line.backendLocal()))
                .with("attempts", line.attempts())
                .with("waitMs", line.waitMs())
                .with("connectMs", line.connectMs())
                .with("bytesFromClient", line.bytesFromClient())
                .with("bytesFromBackend", line.bytesFromBackend())
                .with("spliced", line.spliced())
                .with("cause", (Object) line.cause())
                .with("closedFirst", (Object) line.closedFirst())
                .with("peer", (Object) address(line.peer()))
                .with("sni", (Object) line.sni())
                .with("tlsProtocol", (Object) line.tlsProtocol())
                .with("tlsCipher", (Object) line.tlsCipher())
                .with("clientSubject", (Object) line.clientSubject());
        return Log4jLogEvent.newBuilder()
                .setMessage(fields)
                .setTimeMillis(line.time().toEpochMilli())
                .build();
    }

    /** A map message whose values keep their types (numbers, booleans), so that the layout writes them as such. */
    private static final class Fields extends MapMessage<Fields, Object> {
        private static final long serialVersionUID = 1L;
    }

    /** A value that came from outside (a server name): {@code -} when absent, anything but a plain character as ?. */
    private static void token(StringBuilder out, String value) {
        if (value == null || value.isEmpty()) {
            out.append('-');
            return;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            out.append(c > 0x20 && c < 0x7f && c != '"' ? c : '?');
        }
    }

    private static String address(SocketAddress address) {
        if (address == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(48);
        address(out, address);
        return out.toString();
    }

    /** {@code 10.0.0.1:5432}, {@code [2001:db8::1]:5432}, or {@code -}. */
    private static void address(StringBuilder out, SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String host = inet.getAddress().getHostAddress();
            if (host.indexOf(':') >= 0) {
                out.append('[').append(host).append(']');
            } else {
                out.append(host);
            }
            out.append(':').append(inet.getPort());
        } else if (address == null) {
            out.append('-');
        } else {
            out.append(address);
        }
    }
}
