package dev.strait.server.support;

import dev.strait.config.DnsConfig;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.SpliceMode;
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

/** An in-process Strait with one route named {@code test}, closed by {@link #close()}. */
public final class RunningProxy implements AutoCloseable {
    private final ProxyServer server;

    private RunningProxy(ProxyServer server) {
        this.server = server;
    }

    /** A route on 127.0.0.1, port 0, trying the backends in order (round-robin starts at the first). */
    public static RunningProxy start(TransportKind transport, String... backends) throws StartException {
        return start(transport, Timeouts.DEFAULTS, WaterMark.DEFAULT, backends);
    }

    public static RunningProxy start(
            TransportKind transport, Timeouts timeouts, WaterMark waterMark, String... backends) throws StartException {
        return start(transport, route(timeouts, waterMark, backends));
    }

    /** A route on 127.0.0.1, port 0, on this transport and splice mode. */
    public static RunningProxy start(RelayMode mode, String... backends) throws StartException {
        return start(mode, Timeouts.DEFAULTS, WaterMark.DEFAULT, backends);
    }

    public static RunningProxy start(RelayMode mode, Timeouts timeouts, WaterMark waterMark, String... backends)
            throws StartException {
        ProxyConfig base = config(mode.transport(), List.of(route(timeouts, waterMark, backends)));
        return start(new ProxyConfig(
                base.transport(),
                mode.splice(),
                base.workers(),
                base.backlog(),
                base.shutdownTimeout(),
                base.admin(),
                base.dns(),
                base.maxConnections(),
                base.routes()));
    }

    /** A route named {@code test} on 127.0.0.1, port 0, with the given timeouts and water marks. */
    public static Route route(Timeouts timeouts, WaterMark waterMark, String... backends) {
        return TestRoutes.route("test")
                .backends(backends)
                .timeouts(timeouts)
                .waterMark(waterMark)
                .build();
    }

    /** A proxy with this one route (named {@code test}; its listen address is used as given). */
    public static RunningProxy start(TransportKind transport, Route route) throws StartException {
        return start(config(transport, List.of(route)));
    }

    /** A config with 2 workers, a 5s drain, no admin endpoint and the system's DNS. */
    public static ProxyConfig config(TransportKind transport, List<Route> routes) {
        return new ProxyConfig(
                transport,
                SpliceMode.AUTO,
                2,
                ProxyConfig.DEFAULT_BACKLOG,
                Duration.ofSeconds(5),
                Optional.empty(),
                DnsConfig.DEFAULTS,
                0,
                routes);
    }

    public static RunningProxy start(ProxyConfig config) throws StartException {
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
        return connectFrom(null);
    }

    /** A client socket bound to {@code source} (e.g. 127.0.0.2, for per-source tests), connected to the proxy. */
    public Socket connectFrom(InetAddress source) throws IOException {
        Socket socket = new Socket();
        if (source != null) {
            socket.bind(new InetSocketAddress(source, 0));
        }
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    @Override
    public void close() {
        server.shutdown(Duration.ZERO);
    }
}
