package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One listener and the backends it relays to.
 *
 * @param name a label used in logs and metrics; letters, digits, '.', '_' and '-'
 * @param listen the address to accept clients on (port 0 lets the kernel choose)
 * @param backends the backends in order of preference; the first one that accepts gets the client
 * @param timeouts connect and idle timeouts
 * @param writeBufferWaterMark when a side stops being writable, and when it is writable again
 */
public record Route(
        String name,
        HostAndPort listen,
        List<HostAndPort> backends,
        Timeouts timeouts,
        WaterMark writeBufferWaterMark) {

    public Route {
        requireNonNull(name, "name");
        requireNonNull(listen, "listen");
        requireNonNull(timeouts, "timeouts");
        requireNonNull(writeBufferWaterMark, "writeBufferWaterMark");
        if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
            throw ConfigException.badValue("name", name, "1-64 letters, digits, '.', '_' or '-'");
        }
        backends = List.copyOf(requireNonNull(backends, "backends"));
        if (backends.isEmpty()) {
            throw new ConfigException("backends", "at least one backend is required for route " + name);
        }
        for (HostAndPort backend : backends) {
            backend.requireRealPort("backends");
        }
    }

    /** A route with default timeouts and water marks. */
    public static Route of(String name, HostAndPort listen, List<HostAndPort> backends) {
        return new Route(name, listen, backends, Timeouts.DEFAULTS, WaterMark.DEFAULT);
    }
}
