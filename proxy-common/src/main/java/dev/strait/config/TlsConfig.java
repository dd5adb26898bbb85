package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code tls} block of a route: Strait terminates TLS for its clients and relays the plaintext.
 *
 * @param certificates one or more certificate/key pairs; chosen by the client's SNI (exact name, then a one-label
 *     wildcard, then the first)
 * @param protocols the TLS versions offered: TLSv1.3 and/or TLSv1.2
 * @param clientAuth whether clients must present a certificate
 * @param clientCa the CA bundle that client certificates are verified against; required unless clientAuth is none
 * @param alpn the application protocols advertised (empty: no ALPN)
 * @param handshakeTimeout how long a client may take to complete its handshake
 * @param provider the JDK's engine ({@code auto}, {@code jdk}) or OpenSSL (netty-tcnative)
 * @param allowExpired start even if a certificate has expired (else that is a config error)
 */
public record TlsConfig(
        List<Certificate> certificates,
        List<String> protocols,
        ClientAuth clientAuth,
        Optional<Path> clientCa,
        List<String> alpn,
        Duration handshakeTimeout,
        TlsProvider provider,
        boolean allowExpired) {

    /** The protocol names accepted in {@code tls.protocols}; older versions are insecure and refused. */
    public static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

    public static final ConfigKey<Void> TLS =
            ConfigKey.readByLoader("tls", "mapping; terminates TLS for clients", "off");
    public static final ConfigKey<Void> CERTIFICATES =
            ConfigKey.readByLoader("tls.certificates", "list of {cert, key}", ConfigKey.REQUIRED);
    public static final ConfigKey<Path> CERT =
            ConfigKey.required("tls.certificates[].cert", "file (PEM; chain after the leaf)", ConfigValues::path);
    public static final ConfigKey<Path> KEY =
            ConfigKey.required("tls.certificates[].key", "file (PEM; PKCS#8 or PKCS#1, RSA or EC)", ConfigValues::path);
    public static final ConfigKey<Void> PROTOCOLS =
            ConfigKey.readByLoader("tls.protocols", "list of TLSv1.3 | TLSv1.2", "[TLSv1.3, TLSv1.2]");
    public static final ConfigKey<ClientAuth> CLIENT_AUTH =
            ConfigKey.of("tls.clientAuth", "none | optional | require", "none", ClientAuth::parse);
    public static final ConfigKey<Path> CLIENT_CA =
            ConfigKey.optional("tls.clientCa", "file (PEM CA bundle)", ConfigValues::path);
    public static final ConfigKey<Void> ALPN = ConfigKey.readByLoader("tls.alpn", "list of protocol names", "[]");
    public static final ConfigKey<Duration> HANDSHAKE_TIMEOUT =
            ConfigKey.of("tls.handshakeTimeout", "duration", "10s", ConfigValues::duration);
    public static final ConfigKey<TlsProvider> PROVIDER =
            ConfigKey.of("tls.provider", "auto | openssl | jdk", "auto", TlsProvider::parse);
    public static final ConfigKey<Boolean> ALLOW_EXPIRED =
            ConfigKey.of("tls.allowExpired", "true | false", "false", ConfigValues::bool);

    public static final List<ConfigKey<?>> KEYS = List.of(
            TLS,
            CERTIFICATES,
            CERT,
            KEY,
            PROTOCOLS,
            CLIENT_AUTH,
            CLIENT_CA,
            ALPN,
            HANDSHAKE_TIMEOUT,
            PROVIDER,
            ALLOW_EXPIRED);

    /** One certificate (with its chain) and its private key. */
    public record Certificate(Path cert, Path key) {
        public Certificate {
            requireNonNull(cert, "cert");
            requireNonNull(key, "key");
        }
    }

    public TlsConfig {
        certificates = List.copyOf(requireNonNull(certificates, "certificates"));
        protocols = List.copyOf(requireNonNull(protocols, "protocols"));
        requireNonNull(clientAuth, "clientAuth");
        requireNonNull(clientCa, "clientCa");
        alpn = List.copyOf(requireNonNull(alpn, "alpn"));
        requireNonNull(handshakeTimeout, "handshakeTimeout");
        requireNonNull(provider, "provider");
        if (certificates.isEmpty()) {
            throw new ConfigException("tls.certificates", "at least one {cert, key} is required");
        }
        if (protocols.isEmpty()) {
            throw ConfigException.badValue("tls.protocols", protocols, "at least one of TLSv1.3, TLSv1.2");
        }
        for (String p : protocols) {
            if (!KNOWN_PROTOCOLS.contains(p)) {
                throw ConfigException.badValue("tls.protocols", p, "expected TLSv1.3 or TLSv1.2");
            }
        }
        if (clientAuth != ClientAuth.NONE && clientCa.isEmpty()) {
            throw new ConfigException("tls.clientCa", "is required with clientAuth " + clientAuth.configName());
        }
        for (String a : alpn) {
            if (a.isEmpty() || a.length() > 255) {
                throw ConfigException.badValue("tls.alpn", a, "1 to 255 characters");
            }
        }
        if (handshakeTimeout.isZero() || handshakeTimeout.isNegative()) {
            throw ConfigException.badValue("tls.handshakeTimeout", handshakeTimeout, "above 0");
        }
    }

    /** Terminates with one certificate and every default. */
    public static TlsConfig of(Path cert, Path key) {
        return new TlsConfig(
                List.of(new Certificate(cert, key)),
                List.of("TLSv1.3", "TLSv1.2"),
                ClientAuth.NONE,
                Optional.empty(),
                List.of(),
                HANDSHAKE_TIMEOUT.defaultValue(),
                TlsProvider.AUTO,
                false);
    }
}
