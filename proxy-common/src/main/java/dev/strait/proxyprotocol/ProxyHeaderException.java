package dev.strait.proxyprotocol;

/**
 * A header that cannot be accepted, with a short reason fit for a metric label ({@code bad_signature},
 * {@code too_long}, ...). Thrown on hostile input, so it carries no stack trace.
 */
public final class ProxyHeaderException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String reason;

    public ProxyHeaderException(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    /** One of a fixed set of labels: see {@link ProxyHeaderParser}. */
    public String reason() {
        return reason;
    }
}
