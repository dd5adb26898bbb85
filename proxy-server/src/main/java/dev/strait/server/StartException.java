package dev.strait.server;

/** The proxy could not start (a port in use, an address that cannot be bound); the message is one line for the user. */
public final class StartException extends Exception {
    private static final long serialVersionUID = 1L;

    public StartException(String message, Throwable cause) {
        super(message, cause);
    }
}
