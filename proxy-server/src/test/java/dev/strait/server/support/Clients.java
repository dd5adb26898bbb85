package dev.strait.server.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Plain-socket client moves shared by the socket tests: connect, echo a line, tell a refusal or a close. */
public final class Clients {
    private Clients() {}

    /** A client connected to 127.0.0.1:{@code port}, with a 30s read timeout. */
    public static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    /** Sends the text and reads exactly as many bytes back. */
    public static String echo(Socket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(bytes);
        return new String(Bytes.readExactly(socket.getInputStream(), bytes.length), StandardCharsets.UTF_8);
    }

    /** Whether nothing listens on 127.0.0.1:{@code port} any more. */
    public static boolean isRefused(int port) throws IOException {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return false;
        } catch (ConnectException e) {
            return true;
        }
    }

    /** Reads one byte: true on end of stream or a reset, false on a read timeout. */
    public static boolean closedByPeer(InputStream in) throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException reset) {
            return true;
        }
    }

    /** How a connection ended, as its reader saw it. */
    public enum Ending {
        /** End of stream: the peer closed with a FIN. */
        FIN,
        /** The read failed: the peer reset the connection. */
        RESET,
        /** Nothing within the socket's read timeout: still open. */
        OPEN
    }

    /** Reads until the stream ends, fails or times out, dropping what it reads; tells a FIN from a reset. */
    public static Ending ending(InputStream in) throws IOException {
        byte[] sink = new byte[8192];
        try {
            while (in.read(sink) >= 0) {
                // drop it
            }
            return Ending.FIN;
        } catch (SocketTimeoutException e) {
            return Ending.OPEN;
        } catch (SocketException reset) {
            return Ending.RESET;
        }
    }

    /** Sends the text and asserts that exactly the same comes back. */
    public static void assertEchoes(Socket socket, String text) throws IOException {
        assertThat(echo(socket, text)).isEqualTo(text);
    }

    /** The proxy ends the connection (end of stream or a reset) within {@code millis}, before sending a byte. */
    public static void assertClosedByProxyWithin(Socket socket, int millis, String what) throws IOException {
        socket.setSoTimeout(millis);
        assertThat(closedByPeer(socket.getInputStream()))
                .as("%s: closed by the proxy within %dms", what, millis)
                .isTrue();
    }
}
