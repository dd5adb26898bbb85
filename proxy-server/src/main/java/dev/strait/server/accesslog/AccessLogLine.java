package dev.strait.server.accesslog;

import java.net.SocketAddress;
import java.time.Instant;

/**
 * The facts of one access log line, copied on the event loop (one object, no formatting there) and formatted by the
 * writer's thread. Addresses are Netty's own objects; null prints as {@code -}.
 *
 * @param event {@code close}, {@code connect} or {@code progress}
 * @param time when the connection was accepted
 * @param durationMs accept to this line
 * @param client the client's address as the proxy saw it
 * @param listener the proxy's address the client connected to
 * @param backend the backend's address, once connected
 * @param backendLocal the proxy's own address towards the backend (its source port), once connected
 * @param attempts backend connects attempted
 * @param waitMs time spent waiting for a slot or a backend
 * @param connectMs time the successful backend connect took
 * @param spliced whether any byte went through splice(2)
 * @param cause the close cause's label; null until the close
 * @param closedFirst {@code client}, {@code backend} or {@code proxy}; null until the close
 * @param peer the TCP peer, which is not the client when a PROXY header named another
 * @param sni the server name the client asked for (TLS SNI, read by the sni or the tls stage); null: none
 * @param tlsProtocol the TLS version negotiated with a terminating route; null: not terminated
 * @param tlsCipher the cipher suite negotiated with a terminating route; null: not terminated
 * @param clientSubject the subject of the client's certificate (mutual TLS); null: none
 */
public record AccessLogLine(
        String event,
        Instant time,
        long durationMs,
        String route,
        SocketAddress client,
        SocketAddress listener,
        SocketAddress backend,
        SocketAddress backendLocal,
        int attempts,
        long waitMs,
        long connectMs,
        long bytesFromClient,
        long bytesFromBackend,
        boolean spliced,
        String cause,
        String closedFirst,
        SocketAddress peer,
        String sni,
        String tlsProtocol,
        String tlsCipher,
        String clientSubject) {

    /** A line of a connection with no PROXY header, no SNI and no TLS (the peer is the client). */
    public AccessLogLine(
            String event,
            Instant time,
            long durationMs,
            String route,
            SocketAddress client,
            SocketAddress listener,
            SocketAddress backend,
            SocketAddress backendLocal,
            int attempts,
            long waitMs,
            long connectMs,
            long bytesFromClient,
            long bytesFromBackend,
            boolean spliced,
            String cause,
            String closedFirst) {
        this(
                event,
                time,
                durationMs,
                route,
                client,
                listener,
                backend,
                backendLocal,
                attempts,
                waitMs,
                connectMs,
                bytesFromClient,
                bytesFromBackend,
                spliced,
                cause,
                closedFirst,
                client,
                null,
                null,
                null,
                null);
    }
}
