package dev.strait.server.admin;

import static java.util.Objects.requireNonNull;

import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.route.RouteMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Samples the proxy's byte counters once a second, for what a single reading cannot tell: each connection's rate each
 * way and how long it has been idle, and each route's throughput over the last {@value #HISTORY} seconds (the page's
 * chart).
 *
 * <p>The relay counts bytes and nothing more (no clock on the hot path, splice included); a connection counts as
 * active when its counters moved between two readings, so idle time has the resolution of the readings (one second,
 * or finer when the API is asked in between).
 *
 * <p>Thread model: the timer and the API call these methods from the admin event loop; they are synchronized anyway,
 * so that nothing depends on the admin endpoint having one thread.
 */
final class TrafficSampler {
    /** Seconds of per-route history kept: five minutes at one sample a second. */
    static final int HISTORY = 300;

    private final ProxyView server;
    private final Map<ProxiedConnection, Seen> connections = new IdentityHashMap<>();
    private final Map<String, Route> routes = new LinkedHashMap<>();

    TrafficSampler(ProxyView server) {
        this.server = requireNonNull(server, "server");
    }

    /** What the sampler knows of one connection at {@code nowNanos}. */
    record Traffic(double idleSeconds, double rateFromClient, double rateFromBackend) {}

    /** One point of a route's history: when, and bytes per second each way over the second before. */
    record Point(long epochMillis, double fromClient, double fromBackend) {}

    /** Takes one reading of every live connection and every route; the timer calls it once a second. */
    synchronized void tick(long nowNanos, long epochMillis) {
        List<ProxiedConnection> live = server.liveConnections();
        Map<ProxiedConnection, Seen> next = new IdentityHashMap<>();
        Map<String, long[]> openBytes = new HashMap<>();
        for (ProxiedConnection c : live) {
            Seen seen = connections.get(c);
            long in = c.bytesFromClient();
            long out = c.bytesFromBackend();
            if (seen == null) {
                seen = Seen.first(c, in, out, nowNanos);
            } else {
                seen.tick(in, out, nowNanos);
            }
            next.put(c, seen);
            long[] sum = openBytes.computeIfAbsent(c.route(), r -> new long[2]);
            sum[0] += in;
            sum[1] += out;
        }
        connections.clear();
        connections.putAll(next);
        Map<String, RouteMetrics> metrics = server.routeMetrics();
        routes.keySet().retainAll(metrics.keySet());
        metrics.forEach((name, m) -> {
            long[] open = openBytes.getOrDefault(name, new long[2]);
            long in = m.bytesFromClientSoFar(open[0]);
            long out = m.bytesFromBackendSoFar(open[1]);
            routes.computeIfAbsent(name, r -> new Route()).tick(in, out, nowNanos, epochMillis);
        });
    }

    /** The rates (from the last two readings) and idle time of {@code c}, noting activity since the last reading. */
    synchronized Traffic traffic(ProxiedConnection c, long nowNanos) {
        long in = c.bytesFromClient();
        long out = c.bytesFromBackend();
        Seen seen = connections.get(c);
        if (seen == null) {
            seen = Seen.first(c, in, out, nowNanos);
            connections.put(c, seen);
        } else {
            seen.observe(in, out, nowNanos);
        }
        return new Traffic(seconds(nowNanos - seen.changedNanos), seen.rateIn, seen.rateOut);
    }

    /** Each route's history, oldest point first. */
    synchronized Map<String, List<Point>> history() {
        Map<String, List<Point>> copy = new LinkedHashMap<>();
        routes.forEach((name, r) -> copy.put(name, new ArrayList<>(r.points)));
        return copy;
    }

    private static double seconds(long nanos) {
        return Math.max(0, nanos) / 1e9;
    }

    /** The last readings of one connection. */
    private static final class Seen {
        long tickIn;
        long tickOut;
        long tickNanos;
        long seenIn;
        long seenOut;
        long changedNanos;
        double rateIn;
        double rateOut;

        /** First seen: the rate so far is its average since accept; it counts as active now if it moved at all. */
        static Seen first(ProxiedConnection c, long in, long out, long nowNanos) {
            Seen s = new Seen();
            long ageNanos =
                    Math.max(1, Duration.between(c.started(), Instant.now()).toNanos());
            s.tickIn = s.seenIn = in;
            s.tickOut = s.seenOut = out;
            s.tickNanos = nowNanos;
            s.changedNanos = in + out > 0 ? nowNanos : nowNanos - ageNanos;
            s.rateIn = in / seconds(ageNanos);
            s.rateOut = out / seconds(ageNanos);
            return s;
        }

        void tick(long in, long out, long nowNanos) {
            double elapsed = seconds(nowNanos - tickNanos);
            if (elapsed > 0) {
                rateIn = Math.max(0, in - tickIn) / elapsed;
                rateOut = Math.max(0, out - tickOut) / elapsed;
            }
            tickIn = in;
            tickOut = out;
            tickNanos = nowNanos;
            observe(in, out, nowNanos);
        }

        void observe(long in, long out, long nowNanos) {
            if (in != seenIn || out != seenOut) {
                changedNanos = nowNanos;
                seenIn = in;
                seenOut = out;
            }
        }
    }

    /** One route's totals at the last reading and its recent points. */
    private static final class Route {
        final ArrayDeque<Point> points = new ArrayDeque<>();
        long in = -1;
        long out;
        long nanos;

        void tick(long totalIn, long totalOut, long nowNanos, long epochMillis) {
            if (in >= 0) {
                double elapsed = seconds(nowNanos - nanos);
                if (elapsed > 0) {
                    // A reload that rebuilt the route's counters starts them again: no negative rates.
                    points.addLast(new Point(
                            epochMillis, Math.max(0, totalIn - in) / elapsed, Math.max(0, totalOut - out) / elapsed));
                    if (points.size() > HISTORY) {
                        points.removeFirst();
                    }
                }
            }
            in = totalIn;
            out = totalOut;
            nanos = nowNanos;
        }
    }
}
