package dev.strait.server.tls;

import dev.strait.config.TlsProvider;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * Which implementation a {@link TlsProvider} stands for here.
 *
 * <p>{@code auto} takes the JDK's engine. OpenSSL (BoringSSL, statically linked in netty-tcnative-boringssl-static)
 * handshakes with about a third of the CPU, but Netty 4.2.18's {@code ReferenceCountedOpenSslEngine} ends both
 * directions when it receives a close_notify ({@code closeAll()} on {@code SSL_ERROR_ZERO_RETURN}): a TLS 1.3 client
 * that half-closes with close_notify and keeps reading gets Strait's close_notify at once and none of the backend's
 * answer, a truncation that looks like a clean end. The JDK's engine keeps the other direction open (TLS 1.3), which
 * is what the relay promises, so {@code auto} keeps the promise and {@code openssl} is there for routes that want the
 * cheaper handshakes and know their clients do not half-close with close_notify. The figures are in
 * docs/configuration.md (TLS).
 */
public final class Providers {
    /**
     * The JDK's server engine accepts a TLS 1.2 client's request to renegotiate unless this is set (BoringSSL never
     * renegotiates as a server); Strait refuses it, as HAProxy and nginx do, so the connection ends with
     * {@code tls_error}. Set here, before this class hands out the JDK provider and so before the JVM's first server
     * handshake reads it; a value given on the command line ({@code -Djdk.tls.rejectClientInitiatedRenegotiation=false})
     * is left alone.
     */
    static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    static {
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
    }

    private Providers() {}

    /** The provider {@code wanted} means on this machine; fails if {@code openssl} is forced but cannot load. */
    public static SslProvider resolve(TlsProvider wanted) {
        return switch (wanted) {
            case AUTO, JDK -> SslProvider.JDK;
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    Throwable why = OpenSsl.unavailabilityCause();
                    throw new IllegalArgumentException("OpenSSL (netty-tcnative) is not available here"
                            + (why == null ? "" : ": " + why.getMessage()));
                }
                yield SslProvider.OPENSSL;
            }
        };
    }

    /** The one-line warning a terminating route with {@code provider} logs at start, or null: none. */
    public static String halfCloseWarning(SslProvider provider) {
        return provider == SslProvider.OPENSSL
                ? "a client's close_notify ends both directions with the openssl provider (the backend's answer after"
                        + " it is lost); provider: jdk (or auto) keeps a TLS 1.3 half-close"
                : null;
    }
}
