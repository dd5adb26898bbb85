package dev.strait.server.e2e;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal Redis client over a plain socket, speaking RESP2. Replies decode to {@link String} (simple and
 * bulk strings; {@code null} for a null bulk string), {@link Long}, {@link List}, or {@link ErrorReply}.
 *
 * <p>Writing ({@link #send}, {@link #flush}) and reading ({@link #read}) may happen on two threads, one
 * each, which is what pipelining needs.
 */
final class RespClient implements AutoCloseable {
    /** An error reply, such as {@code -ERR unknown command}. */
    record ErrorReply(String message) {}

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    RespClient(int port, Duration readTimeout) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout((int) readTimeout.toMillis());
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    }

    /** Sends one command and reads its reply. */
    Object call(String... command) throws IOException {
        send(command);
        flush();
        return read();
    }

    /** Buffers one command; {@link #flush} sends what is buffered. */
    void send(String... command) throws IOException {
        out.write(encode(command));
    }

    /** Writes bytes that are already RESP, such as a whole pipeline, and flushes them. */
    void sendRaw(byte[] commands) throws IOException {
        out.write(commands);
        out.flush();
    }

    void flush() throws IOException {
        out.flush();
    }

    /** A command as a RESP array of bulk strings. */
    static byte[] encode(String... command) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(("*" + command.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (String argument : command) {
            byte[] utf8 = argument.getBytes(StandardCharsets.UTF_8);
            bytes.writeBytes(("$" + utf8.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            bytes.writeBytes(utf8);
            bytes.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return bytes.toByteArray();
    }

    /** Reads one reply, blocking up to the read timeout. */
    Object read() throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("the connection closed before a reply");
        }
        String line = readLine();
        return switch (type) {
            case '+' -> line;
            case '-' -> new ErrorReply(line);
            case ':' -> Long.parseLong(line);
            case '$' -> bulkString(Integer.parseInt(line));
            case '*' -> array(Integer.parseInt(line));
            default -> throw new IOException("not a RESP reply: " + (char) type + line);
        };
    }

    private String bulkString(int length) throws IOException {
        if (length < 0) {
            return null;
        }
        byte[] value = in.readNBytes(length);
        if (value.length < length || in.read() != '\r' || in.read() != '\n') {
            throw new EOFException("a bulk string cut short");
        }
        return new String(value, StandardCharsets.UTF_8);
    }

    private List<Object> array(int length) throws IOException {
        if (length < 0) {
            return null;
        }
        List<Object> elements = new ArrayList<>(length);
        for (int i = 0; i < length; i++) {
            elements.add(read());
        }
        return elements;
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\r'; b = in.read()) {
            if (b < 0) {
                throw new EOFException("a reply line cut short");
            }
            line.write(b);
        }
        if (in.read() != '\n') {
            throw new IOException("a reply line without \\n after \\r");
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
