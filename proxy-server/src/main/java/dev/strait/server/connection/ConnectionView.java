package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.tls.TlsSessionInfo;
import io.netty.channel.Channel;
import java.net.SocketAddress;
import java.time.Instant;

/**
 * What the admin endpoint, the health checker and tests read of one connection: its route, both addresses, when it
 * started, its state and how many bytes went each way. Every method may be called from any thread.
 */
public interface ConnectionView {
    /** The client's channel: for its id and addresses (close the connection through its owner, with a cause). */
    Channel frontend();

    String route();

    Instant started();

    /** Where the connection is now; {@code /connections} shows its name. */
    ConnectionState state();

    default String id() {
        return frontend().id().asShortText();
    }

    /** The client: the source its PROXY header named when the route accepts one, else the TCP peer. */
    default SocketAddress client() {
        return frontend().remoteAddress();
    }

    /** The TCP peer: the client itself, or the load balancer in front of it that sent a PROXY header. */
    default SocketAddress peer() {
        return frontend().remoteAddress();
    }

    default SocketAddress listener() {
        return frontend().localAddress();
    }

    /** The backend's address once relaying, else null. */
    default SocketAddress backend() {
        return state().backendAddress();
    }

    /**
     * Strait's own address towards the backend once relaying (what the backend sees as its client; a DBA joins it
     * with {@code pg_stat_activity.client_port}), else null.
     */
    default SocketAddress backendLocal() {
        ConnectionState now = state();
        if (now instanceof ConnectionState.Closed closed) {
            now = closed.last();
        }
        return now instanceof ConnectionState.Relaying relaying
                ? relaying.channel().localAddress()
                : null;
    }

    /** The backend this connection counts against (connecting or relaying), else null. */
    default Backend backendTarget() {
        return state().backend();
    }

    /** Bytes the client sent that were relayed to the backend (still readable once closed). */
    default long bytesFromClient() {
        return state().bytesFromClient();
    }

    /** Bytes the backend sent that were relayed to the client (still readable once closed). */
    default long bytesFromBackend() {
        return state().bytesFromBackend();
    }

    /**
     * The {@code sni} target a pre-relay stage chose for this connection (named by its first server name), or null
     * while none has or when it goes to the route's own backends.
     */
    default String target() {
        return null;
    }

    /** What the client's TLS handshake negotiated, on a terminating route once it finished; else null. */
    default TlsSessionInfo tls() {
        return frontend().attr(TlsSessionInfo.KEY).get();
    }

    /** Bytes moved by splice(2) in either direction, which no handler in the pipeline sees. */
    default long bytesSpliced() {
        return state().bytesSpliced();
    }
}
