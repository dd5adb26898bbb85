package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * The {@code healthCheck.http} block: an HTTP/1.1 {@code GET} of {@code path} whose status must be {@code
 * expectStatus} for the backend to count as up, as HAProxy's {@code option httpchk} with {@code http-check expect
 * status}. Patroni's {@code GET /primary} on port 8008 is the usual use.
 *
 * @param path the request target; starts with {@code /}, no spaces or control characters
 * @param expectStatus the one status that counts as up, 100 to 599
 * @param host the {@code Host} header; empty sends the probed address
 */
public record HttpCheck(String path, int expectStatus, Optional<String> host) {
    public static final ConfigKey<Void> BLOCK = ConfigKey.readByLoader("healthCheck.http", "mapping", "off");
    public static final ConfigKey<String> PATH = ConfigKey.of("healthCheck.http.path", "text", "/", ConfigValues::text);
    public static final ConfigKey<Integer> EXPECT_STATUS =
            ConfigKey.of("healthCheck.http.expectStatus", "integer", "200", ConfigValues::integer);
    public static final ConfigKey<String> HOST =
            ConfigKey.optional("healthCheck.http.host", "text", ConfigValues::text);
    public static final List<ConfigKey<?>> KEYS = List.of(BLOCK, PATH, EXPECT_STATUS, HOST);

    /** {@code GET /}, up on 200, with the probed address as {@code Host}: the block given with every default. */
    public static final HttpCheck DEFAULTS =
            new HttpCheck(PATH.defaultValue(), EXPECT_STATUS.defaultValue(), Optional.empty());

    public HttpCheck {
        requireNonNull(path, "path");
        requireNonNull(host, "host");
        if (!path.startsWith("/") || !printable(path)) {
            throw ConfigException.badValue(PATH.name(), path, "a path starting with /, without spaces");
        }
        if (expectStatus < 100 || expectStatus > 599) {
            throw ConfigException.badValue(EXPECT_STATUS.name(), expectStatus, "100 to 599");
        }
        if (host.isPresent() && (host.get().isEmpty() || !printable(host.get()))) {
            throw ConfigException.badValue(HOST.name(), host.get(), "a host name, without spaces");
        }
    }

    /** Visible ASCII only, so that nothing a config holds can split the request line or add a header. */
    private static boolean printable(String text) {
        return text.chars().allMatch(c -> c > 0x20 && c < 0x7f);
    }
}
