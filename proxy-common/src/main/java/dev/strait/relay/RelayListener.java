package dev.strait.relay;

/**
 * Told how one side of a relayed pair ended, so that the owner of the connection can say why it closed.
 *
 * <p>Called on the pair's event loop, before the relay acts on the event (closes, half-closes), at most once per
 * kind and side; a side may report several kinds (a FIN, then its close). It must not block.
 */
@FunctionalInterface
public interface RelayListener {
    /** A listener that ignores every event. */
    RelayListener NONE = (side, end) -> {};

    /** How a side ended. */
    enum End {
        /** Its input ended: the peer sent a FIN. */
        FIN,
        /** Its channel closed. */
        CLOSED,
        /** It failed with an I/O error: in practice a reset (or a write to a peer that had reset). */
        RESET,
        /**
         * Its TLS failed after the handshake: a record that does not decrypt, a fatal alert, a refused renegotiation
         * (an {@link javax.net.ssl.SSLException}, bare or wrapped in a decoder's exception).
         */
        TLS_ERROR,
        /** It failed with anything else: a bug or a resource problem, logged at warn. */
        ERROR,
        /** Its fin timeout ran out with the pair still half-closed or still flushing. */
        FIN_TIMEOUT
    }

    /**
     * @param side the side given to the {@link RelayHandler}: {@code frontend} or {@code backend}
     * @param end what happened to it
     */
    void ended(String side, End end);
}
