package dev.strait.server;

import dev.strait.server.listen.ListenException;

/** The proxy could not start (a port in use, an address that cannot be bound); the message is one line for the user. */
public final class StartException extends Exception {
    private static final long serialVersionUID = 1L;

    public StartException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The proxy could not start because a listener could not bind; keeps that one-line message. */
    public StartException(ListenException cause) {
        super(cause.getMessage(), cause);
    }
}
