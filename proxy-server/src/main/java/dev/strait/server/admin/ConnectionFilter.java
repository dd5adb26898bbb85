package dev.strait.server.admin;

import dev.strait.balance.Backend;
import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.server.connection.ConnectionView;
import dev.strait.server.listen.Listeners;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The query of {@code GET /api/connections}: {@code route} (its name), {@code backend} (its configured name or its
 * {@code ip:port}), {@code client} (an IP, an {@code ip:port} or a CIDR) and {@code state} ({@code relaying},
 * {@code connecting}, {@code waiting}, {@code stage}, ...). Given filters must all match; an unknown parameter, a
 * repeated one, a malformed client or an unknown state is a 400.
 */
final class ConnectionFilter implements Predicate<ConnectionView> {
    static final Set<String> PARAMETERS = Set.of("route", "backend", "client", "state");
    /** The state names a connection in the registry can have; {@code stage} matches every {@code stage:<name>}. */
    static final Set<String> STATES =
            Set.of("accepted", "waiting-for-slot", "admitted", "stage", "waiting", "connecting", "relaying");

    private final Predicate<ConnectionView> test;

    private ConnectionFilter(Predicate<ConnectionView> test) {
        this.test = test;
    }

    /** Parses a decoded query string's parameters. */
    static ConnectionFilter parse(Map<String, List<String>> parameters) {
        Predicate<ConnectionView> test = c -> true;
        for (Map.Entry<String, List<String>> p : parameters.entrySet()) {
            String name = p.getKey();
            if (!PARAMETERS.contains(name)) {
                throw ApiException.badRequest(
                        "unknown parameter \"" + name + "\"; filters are route, backend, client and state");
            }
            if (p.getValue().size() != 1) {
                throw ApiException.badRequest("parameter \"" + name + "\" given more than once");
            }
            String value = p.getValue().get(0);
            test = test.and(
                    switch (name) {
                        case "route" -> c -> value.equals(c.route());
                        case "backend" -> backend(value);
                        case "client" -> client(value);
                        default -> state(value);
                    });
        }
        return new ConnectionFilter(test);
    }

    @Override
    public boolean test(ConnectionView connection) {
        return test.test(connection);
    }

    private static Predicate<ConnectionView> backend(String value) {
        return c -> {
            Backend target = c.backendTarget();
            return (target != null && (value.equals(target.name()) || value.equals(Listeners.format(target.address()))))
                    || (c.backend() != null && value.equals(Listeners.format(c.backend())));
        };
    }

    private static Predicate<ConnectionView> client(String value) {
        if (value.indexOf('/') >= 0) {
            Cidr cidr;
            try {
                cidr = Cidr.parse("client", value);
            } catch (ConfigException e) {
                throw ApiException.badRequest("client: " + e.getMessage());
            }
            return c -> c.client() instanceof InetSocketAddress a
                    && a.getAddress() != null
                    && cidr.contains(a.getAddress());
        }
        InetAddress ip = ip(value);
        if (ip != null) {
            return c -> c.client() instanceof InetSocketAddress a && ip.equals(a.getAddress());
        }
        int colon = value.lastIndexOf(':');
        String host = colon > 0 ? value.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        InetAddress hostIp = ip(host);
        int port = colon > 0 ? port(value.substring(colon + 1)) : -1;
        if (hostIp == null || port < 0) {
            throw ApiException.badRequest("client must be an IP, an ip:port or a CIDR: \"" + value + "\"");
        }
        return c -> c.client() instanceof InetSocketAddress a && hostIp.equals(a.getAddress()) && a.getPort() == port;
    }

    private static Predicate<ConnectionView> state(String value) {
        if (!STATES.contains(value)) {
            throw ApiException.badRequest(
                    "unknown state \"" + value + "\"; states are " + String.join(", ", new TreeSet<>(STATES)));
        }
        if (value.equals("stage")) {
            return c -> c.state().name().startsWith("stage:");
        }
        return c -> value.equals(c.state().name());
    }

    private static InetAddress ip(String text) {
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(text);
        if (bytes == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static int port(String text) {
        try {
            int port = Integer.parseInt(text);
            return port >= 0 && port <= 65535 ? port : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
