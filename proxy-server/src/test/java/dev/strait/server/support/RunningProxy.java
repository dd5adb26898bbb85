package dev.strait.server.support;

import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import dev.strait.server.ProxyServer;
import dev.strait.server.StartException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** An in-process Strait with one route on 127.0.0.1, port 0, closed by {@link #close()}. */
public final class RunningProxy implements AutoCloseable {
    private final ProxyServer server;

    private RunningProxy(ProxyServer server) {
        this.server = server;
    }

    public static RunningProxy start(TransportKind transport, String... backends) throws StartException {
        return start(transport, Timeouts.DEFAULTS, WaterMark.DEFAULT, backends);
    }

    public static RunningProxy start(
            TransportKind transport, Timeouts timeouts, WaterMark waterMark, String... backends) throws StartException {
        List<HostAndPort> parsed = List.of(backends).stream()
                .map(b -> HostAndPort.parse("backend", b))
                .toList();
        Route route = new Route("test", new HostAndPort("127.0.0.1", 0), parsed, timeouts, waterMark);
        ProxyConfig config = new ProxyConfig(
                transport, 2, ProxyConfig.DEFAULT_BACKLOG, Duration.ofSeconds(5), Optional.empty(), List.of(route));
        return new RunningProxy(ProxyServer.start(config));
    }

    public ProxyServer server() {
        return server;
    }

    public int port() {
        return server.boundAddress("test").getPort();
    }

    /** A plain client socket connected to the proxy. */
    public Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    @Override
    public void close() {
        server.shutdown(Duration.ZERO);
    }
}
