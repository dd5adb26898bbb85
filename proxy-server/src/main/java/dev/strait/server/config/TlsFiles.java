package dev.strait.server.config;

import dev.strait.config.ConfigException;
import dev.strait.config.Route;
import dev.strait.server.tls.BackendTlsContexts;
import dev.strait.server.tls.ServerTls;

/**
 * Checks a TLS route's files when the config is loaded, so that a missing or unreadable file, a key that does not
 * match its certificate, an expired certificate or an unavailable provider is a config error naming the key (exit 2,
 * or a rejected reload) rather than a failed start.
 */
final class TlsFiles {
    private TlsFiles() {}

    static void check(String prefix, Route route) {
        try {
            if (route.tls().isPresent()) {
                ServerTls.load(route.name(), route.tls().get());
            }
            BackendTlsContexts.build(route);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            if (colon < 0) {
                throw new ConfigException(prefix, message);
            }
            throw new ConfigException(prefix + "." + message.substring(0, colon), message.substring(colon + 2));
        }
    }
}
