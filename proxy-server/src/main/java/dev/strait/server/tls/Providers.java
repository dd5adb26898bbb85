package dev.strait.server.tls;

import dev.strait.config.TlsProvider;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * Which implementation a {@link TlsProvider} stands for here.
 *
 * <p>{@code auto} takes OpenSSL (BoringSSL, statically linked in netty-tcnative-boringssl-static) where it loads, and
 * the JDK's engine where it does not (a platform netty-tcnative does not ship for). OpenSSL handshakes with a fraction
 * of the JDK's CPU and relays bulk several times cheaper (docs/configuration.md, TLS, has the figures). Netty
 * 4.2.18's OpenSSL engine ended both directions when it received a close_notify ({@code closeAll()} on
 * {@code SSL_ERROR_ZERO_RETURN}), which broke the relay's half-close promise for TLS 1.3 clients; Strait carries that
 * one file with the fix ({@code io.netty.handler.ssl.ReferenceCountedOpenSslEngine}: a received TLS 1.3 close_notify
 * closes inbound only, and after Strait's own close_notify the client's bytes are still read, as with the JDK's
 * engine), so both providers now keep the promise.
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
            case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
            case JDK -> SslProvider.JDK;
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

    /**
     * Why {@code auto} ended with the JDK's engine, as a suffix for the start line ({@code " (OpenSSL unavailable:
     * ...)"}), or {@code ""} when it did not.
     */
    public static String fallbackReason(TlsProvider wanted, SslProvider resolved) {
        if (wanted != TlsProvider.AUTO || resolved != SslProvider.JDK) {
            return "";
        }
        Throwable why = OpenSsl.unavailabilityCause();
        return " (auto: OpenSSL is unavailable" + (why == null ? "" : ": " + why.getMessage()) + ")";
    }
}
