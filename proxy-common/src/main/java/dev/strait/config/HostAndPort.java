package dev.strait.config;

import static java.util.Objects.requireNonNull;

/**
 * A host name or IP literal with a TCP port, as written in the config: {@code 127.0.0.1:5432},
 * {@code db.internal:5432} or {@code [::1]:5432}.
 *
 * <p>Port 0 is allowed for listeners (the kernel picks a free port) but not for backends; callers that need a real
 * port check {@link #requireRealPort(String)}.
 */
public record HostAndPort(String host, int port) {

    public HostAndPort {
        requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    /**
     * Parses {@code host:port}; the key names the config entry in the error.
     *
     * @throws ConfigException naming the key and the value when the text is not a valid address
     */
    public static HostAndPort parse(String key, String text) {
        requireNonNull(text, "text");
        String value = text.trim();
        String host;
        String portText;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || close + 1 >= value.length() || value.charAt(close + 1) != ':') {
                throw ConfigException.badValue(key, text, "expected [ipv6]:port");
            }
            host = value.substring(1, close);
            portText = value.substring(close + 2);
        } else {
            int colon = value.lastIndexOf(':');
            if (colon <= 0 || value.indexOf(':') != colon) {
                throw ConfigException.badValue(key, text, "expected host:port, with IPv6 as [addr]:port");
            }
            host = value.substring(0, colon);
            portText = value.substring(colon + 1);
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9._:%-]+")) {
            throw ConfigException.badValue(key, text, "expected host:port with a valid host");
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "port is not a number");
        }
        if (port < 0 || port > 65535) {
            throw ConfigException.badValue(key, text, "port out of range 0-65535");
        }
        return new HostAndPort(host, port);
    }

    /** Rejects port 0, which only makes sense for a listener. */
    public HostAndPort requireRealPort(String key) {
        if (port == 0) {
            throw ConfigException.badValue(key, this, "port out of range 1-65535");
        }
        return this;
    }

    /**
     * Whether two listeners here would fight over one port: the same port (not 0, which the kernel picks anew) on the
     * same host, or on any host when one of them is a wildcard address ({@code 0.0.0.0}, {@code ::}). Host names are
     * compared as written.
     */
    public boolean overlaps(HostAndPort other) {
        requireNonNull(other, "other");
        if (port == 0 || port != other.port) {
            return false;
        }
        return host.equalsIgnoreCase(other.host) || isWildcard() || other.isWildcard();
    }

    /** Whether the host is the IPv4 or IPv6 any-address, which a listener binds on every interface. */
    public boolean isWildcard() {
        return host.equals("0.0.0.0") || host.matches("[0:]*::[0:]*") || host.matches("0(:0){7}");
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
