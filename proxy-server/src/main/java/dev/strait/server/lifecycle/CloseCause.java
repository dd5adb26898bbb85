package dev.strait.server.lifecycle;

import dev.strait.relay.RelayListener;
import java.util.Locale;

/**
 * Why a client connection ended: exactly one per connection, recorded by its owner and logged (at debug) with both
 * addresses when it closes. The set is fixed and documented in {@code docs/architecture.md}; a new stage that can
 * time out adds its own constant here.
 *
 * <p>The two {@code _close} causes are weak: a side's FIN or close is noted first, but a reset, a timeout or an
 * operator's close that follows it, before the connection has closed, is what ended it and replaces the weak cause.
 * Any other cause is final once noted: when two race, the first wins.
 */
public enum CloseCause {
    /** The client's FIN or close came first, and nothing went wrong after it. */
    CLIENT_CLOSE,
    /** The backend's FIN or close came first, and nothing went wrong after it. */
    BACKEND_CLOSE,
    /** The client's socket failed with an I/O error (a reset, in practice). */
    CLIENT_RESET,
    /** The backend's socket failed with an I/O error (a reset, in practice). */
    BACKEND_RESET,
    /** {@code timeouts.idle}: no byte moved either way for that long. */
    IDLE_TIMEOUT,
    /** {@code timeouts.clientFin}: the pair stayed half-closed (or flushing) too long after the client's FIN. */
    CLIENT_FIN_TIMEOUT,
    /** {@code timeouts.serverFin}: the pair stayed half-closed (or flushing) too long after the backend's FIN. */
    SERVER_FIN_TIMEOUT,
    /** {@code timeouts.maxLifetime}: the hard cut. */
    MAX_LIFETIME,
    /** The last backend tried refused the connect (or failed it otherwise) and no other was left to try in time. */
    CONNECT_REFUSED,
    /** The last backend tried did not answer within {@code timeouts.connect} and none was left to try in time. */
    CONNECT_TIMEOUT,
    /** No backend was available (down, or at its cap) until {@code timeouts.queue} ran out. */
    NO_BACKEND,
    /** A connection or accept-rate limit was reached, and the client did not get a slot in time. */
    LIMIT,
    /** The route's allow/deny lists. */
    DENIED,
    /** A pre-relay stage did not finish within its deadline. */
    STAGE_TIMEOUT,
    /** The server is draining and the connection outlived the shutdown timeout. */
    SHUTDOWN,
    /** The active health check took its backend down with {@code closeOnDown}. */
    BACKEND_DOWN,
    /** An operator closed it. */
    ADMIN_CLOSE,
    /**
     * TLS failed: the client's handshake (garbage, no shared protocol or cipher, a refused certificate), or either side's
     * TLS once relaying (a fatal alert, a record that does not decrypt, a refused renegotiation).
     */
    TLS_ERROR,
    /**
     * The client did not complete its TLS handshake within {@code tls.handshakeTimeout}, or (on a {@code protocol:
     * postgres} route) sent neither an SSLRequest nor a ClientHello within it. Counted in {@code
     * strait_tls_handshake_timeouts_total} too.
     */
    TLS_HANDSHAKE_TIMEOUT,
    /** Anything else: an unexpected exception, logged at warn where it happened. */
    ERROR,
    /** {@code timeouts.clientHello}: an SNI route's client did not send its whole ClientHello in time. */
    CLIENT_HELLO_TIMEOUT,
    /**
     * What the client sent first broke its protocol where a stage must not pass it on: bytes after PostgreSQL's
     * SSLRequest in the same read (the CVE-2021-23214 pattern), or no TLS after Strait answered {@code S}.
     */
    PROTOCOL_ERROR,
    /** The chosen backend refused what Strait must say first (PostgreSQL's SSLRequest answered {@code N}). */
    BACKEND_REJECTED,
    /** {@code proxyProtocol.headerTimeout}: a trusted peer did not send its whole PROXY header in time. */
    PROXY_PROTOCOL_TIMEOUT,
    /** A malformed, truncated or unsupported PROXY header (counted by reason in the route's metrics). */
    PROXY_PROTOCOL_ERROR,
    /** A plaintext PostgreSQL startup message on a route that terminates TLS: answered with a FATAL error. */
    TLS_REQUIRED;

    /** The cause a relay's report of how one side ended stands for. */
    public static CloseCause of(boolean clientSide, RelayListener.End end) {
        return switch (end) {
            case FIN, CLOSED -> clientSide ? CLIENT_CLOSE : BACKEND_CLOSE;
            case RESET -> clientSide ? CLIENT_RESET : BACKEND_RESET;
            case FIN_TIMEOUT -> clientSide ? CLIENT_FIN_TIMEOUT : SERVER_FIN_TIMEOUT;
            case TLS_ERROR -> TLS_ERROR;
            case ERROR -> ERROR;
        };
    }

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The name logs, {@code /connections} and the access log use: {@code client_close}, {@code idle_timeout}. */
    public String label() {
        return label;
    }

    /** Whether a later, stronger cause replaces this one (a side's FIN or close is only where the end began). */
    public boolean weak() {
        return this == CLIENT_CLOSE || this == BACKEND_CLOSE;
    }

    @Override
    public String toString() {
        return label;
    }
}
