package dev.strait.server.capture;

import static java.util.Objects.requireNonNull;

import dev.strait.config.Cidr;
import dev.strait.config.RouteCapture;
import java.time.Duration;
import java.util.Optional;

/**
 * What to capture: a route's new connections, optionally only those from one client network, within limits.
 *
 * @param route the route's name
 * @param client only clients inside this network, if present
 * @param limits how long, and how many bytes in all and per connection side and direction
 */
public record CaptureRequest(String route, Optional<Cidr> client, RouteCapture limits) {
    public static final Duration DEFAULT_DURATION = RouteCapture.SECONDS.defaultValue();
    public static final long DEFAULT_MAX_BYTES = RouteCapture.MAX_BYTES.defaultValue();

    public CaptureRequest {
        requireNonNull(route, "route");
        requireNonNull(client, "client");
        requireNonNull(limits, "limits");
    }

    public Duration duration() {
        return limits.duration();
    }

    public long maxBytes() {
        return limits.maxBytes();
    }

    public long maxBytesPerConnection() {
        return limits.maxBytesPerConnection();
    }
}
