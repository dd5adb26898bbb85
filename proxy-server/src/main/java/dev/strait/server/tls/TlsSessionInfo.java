package dev.strait.server.tls;

import io.netty.util.AttributeKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * What a client's TLS handshake negotiated, kept on its channel (it outlives the pipeline, so the access log can read
 * it after the close).
 *
 * @param sni the server name the client asked for; null if none
 * @param protocol e.g. {@code TLSv1.3}
 * @param cipher the cipher suite
 * @param clientSubject the subject of the client's certificate (mutual TLS); null if none
 * @param alpn the application protocol agreed; null if none
 */
public record TlsSessionInfo(String sni, String protocol, String cipher, String clientSubject, String alpn) {
    /** Where a terminating route keeps it on the client's channel. */
    public static final AttributeKey<TlsSessionInfo> KEY = AttributeKey.valueOf(TlsSessionInfo.class, "tls");

    /**
     * Reads a finished handshake's session.
     *
     * @param askedForCertificate whether the server asked the client for a certificate ({@code clientAuth} optional or
     *     require); if not, the peer's certificates are not looked up (without one the session throws an
     *     {@code SSLPeerUnverifiedException}, stack trace included, for every connection)
     */
    public static TlsSessionInfo of(SSLSession session, String alpn, boolean askedForCertificate) {
        String sni = null;
        if (session instanceof ExtendedSSLSession extended) {
            try {
                List<SNIServerName> names = extended.getRequestedServerNames();
                for (SNIServerName n : names) {
                    if (n instanceof SNIHostName host) {
                        sni = host.getAsciiName();
                    }
                }
            } catch (UnsupportedOperationException e) {
                sni = null; // an engine that does not keep it
            }
        }
        String subject = null;
        if (askedForCertificate) {
            try {
                Certificate[] peer = session.getPeerCertificates();
                if (peer.length > 0 && peer[0] instanceof X509Certificate x509) {
                    subject = x509.getSubjectX500Principal().getName();
                }
            } catch (SSLPeerUnverifiedException e) {
                subject = null; // no client certificate
            }
        }
        return new TlsSessionInfo(sni, session.getProtocol(), session.getCipherSuite(), subject, alpn);
    }
}
