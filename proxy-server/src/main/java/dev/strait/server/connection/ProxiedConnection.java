package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import io.netty.channel.Channel;
import java.net.SocketAddress;
import java.time.Instant;

/**
 * What the admin endpoint and the logs know of one live connection: its route, both addresses, when it started and
 * how many bytes went each way.
 *
 * <p>Written only on the connection's event loop; read from any thread (fields are volatile).
 */
public final class ProxiedConnection {
    private final String route;
    private final Channel frontend;
    private final Instant started = Instant.now();
    private volatile Channel backend;
    private volatile Backend backendRef;
    private volatile RelayHandler fromClient;
    private volatile RelayHandler fromBackend;

    ProxiedConnection(String route, Channel frontend) {
        this.route = route;
        this.frontend = frontend;
    }

    void relaying(Channel backend, Backend backendRef, RelayHandler fromClient, RelayHandler fromBackend) {
        this.backend = backend;
        this.backendRef = backendRef;
        this.fromClient = fromClient;
        this.fromBackend = fromBackend;
    }

    public String id() {
        return frontend.id().asShortText();
    }

    public String route() {
        return route;
    }

    public SocketAddress client() {
        return frontend.remoteAddress();
    }

    public SocketAddress listener() {
        return frontend.localAddress();
    }

    /** The backend's address once connected, else null. */
    public SocketAddress backend() {
        Channel b = backend;
        return b == null ? null : b.remoteAddress();
    }

    /** The balancer's backend once connected, else null. */
    public Backend backendTarget() {
        return backendRef;
    }

    /** Closes this connection (its backend follows). */
    public void close() {
        frontend.close();
    }

    public Instant started() {
        return started;
    }

    /** "connecting" until the backend accepted, then "relaying". */
    public String state() {
        return backend == null ? "connecting" : "relaying";
    }

    /** Bytes the client sent that were relayed to the backend. */
    public long bytesFromClient() {
        RelayHandler r = fromClient;
        return r == null ? 0 : r.bytesRelayed();
    }

    /** Bytes moved by splice(2) in either direction, which no handler in the pipeline sees. */
    public long bytesSpliced() {
        RelayHandler a = fromClient;
        RelayHandler b = fromBackend;
        return (a == null ? 0 : a.bytesSpliced()) + (b == null ? 0 : b.bytesSpliced());
    }

    /** Bytes the backend sent that were relayed to the client. */
    public long bytesFromBackend() {
        RelayHandler r = fromBackend;
        return r == null ? 0 : r.bytesRelayed();
    }
}
