package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The {@code backendTls} block of a route (or of one backend, which replaces the route's): Strait speaks TLS to the
 * backend.
 *
 * @param enabled whether TLS is used at all ({@code enabled: false} in a backend turns the route's off for it)
 * @param serverName the SNI sent and the name verified; default: the backend's host name
 * @param verify whether the backend's certificate and name are verified
 * @param ca the CA bundle the backend's certificate is verified against; default: the system trust store
 * @param cert a client certificate to present (with {@code key})
 * @param key the client certificate's private key
 * @param alpn the application protocols offered (empty: no ALPN)
 */
public record BackendTls(
        boolean enabled,
        Optional<String> serverName,
        boolean verify,
        Optional<Path> ca,
        Optional<Path> cert,
        Optional<Path> key,
        List<String> alpn) {

    public static final ConfigKey<Void> BACKEND_TLS =
            ConfigKey.readByLoader("backendTls", "mapping; TLS to the backends", "off");
    public static final ConfigKey<Boolean> ENABLED =
            ConfigKey.of("backendTls.enabled", "true | false", "true", ConfigValues::bool);
    public static final ConfigKey<String> SERVER_NAME =
            ConfigKey.optional("backendTls.serverName", "host name", ConfigValues::text);
    public static final ConfigKey<Boolean> VERIFY =
            ConfigKey.of("backendTls.verify", "true | false", "true", ConfigValues::bool);
    public static final ConfigKey<Path> CA =
            ConfigKey.optional("backendTls.ca", "file (PEM CA bundle)", ConfigValues::path);
    public static final ConfigKey<Path> CERT =
            ConfigKey.optional("backendTls.cert", "file (PEM client certificate)", ConfigValues::path);
    public static final ConfigKey<Path> KEY =
            ConfigKey.optional("backendTls.key", "file (PEM private key)", ConfigValues::path);
    public static final ConfigKey<Void> ALPN =
            ConfigKey.readByLoader("backendTls.alpn", "list of protocol names", "[]");
    public static final List<ConfigKey<?>> KEYS =
            List.of(BACKEND_TLS, ENABLED, SERVER_NAME, VERIFY, CA, CERT, KEY, ALPN);

    public BackendTls {
        requireNonNull(serverName, "serverName");
        requireNonNull(ca, "ca");
        requireNonNull(cert, "cert");
        requireNonNull(key, "key");
        alpn = List.copyOf(requireNonNull(alpn, "alpn"));
        if (cert.isPresent() != key.isPresent()) {
            throw new ConfigException(
                    cert.isPresent() ? "backendTls.key" : "backendTls.cert",
                    "is required with the other (cert and key)");
        }
        serverName.ifPresent(n -> {
            if (!n.matches("[A-Za-z0-9._-]{1,253}")) {
                throw ConfigException.badValue("backendTls.serverName", n, "a host name");
            }
        });
    }

    /** TLS with verification against the system trust store and every other default. */
    public static BackendTls verified() {
        return new BackendTls(
                true, Optional.empty(), true, Optional.empty(), Optional.empty(), Optional.empty(), List.of());
    }
}
