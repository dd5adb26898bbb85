package dev.strait.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.balance.Backend;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.RouteMetrics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-route throughput history behind the page's chart: bytes per second between readings, five minutes kept. */
class TrafficSamplerTest {
    private static final long SECOND = 1_000_000_000L;

    private final RouteMetrics db = new RouteMetrics(new ProxyMetrics("test"), "test");
    private final RouteMetrics web = new RouteMetrics(new ProxyMetrics("test"), "test");
    private final Map<String, RouteMetrics> routes = new LinkedHashMap<>(Map.of("db", db));
    private final TrafficSampler sampler = new TrafficSampler(new Routes(routes));

    @Test
    void givesEachRouteItsBytesPerSecondEachWayBetweenReadings() {
        sampler.tick(0, 1_000);
        db.accepted();
        db.closed(CloseCause.CLIENT_CLOSE, 0, 0, "10.0.0.1:5432", 3_000, 500);
        sampler.tick(2 * SECOND, 3_000);

        List<TrafficSampler.Point> points = sampler.history().get("db");
        assertThat(points).containsExactly(new TrafficSampler.Point(3_000, 1_500, 250));
    }

    @Test
    void keepsFiveMinutesOfPointsAndDropsARemovedRoute() {
        for (int i = 0; i <= TrafficSampler.HISTORY + 10; i++) {
            sampler.tick(i * SECOND, i * 1_000L);
        }
        assertThat(sampler.history().get("db")).hasSize(TrafficSampler.HISTORY);
        assertThat(sampler.history().get("db").get(0).epochMillis()).isEqualTo(11_000);

        routes.clear();
        routes.put("web", web);
        sampler.tick((TrafficSampler.HISTORY + 11) * SECOND, 0);

        assertThat(sampler.history()).containsOnlyKeys("web");
        assertThat(sampler.history().get("web"))
                .as("no point before a second reading")
                .isEmpty();
    }

    /** Routes with counters and nothing else. */
    private record Routes(Map<String, RouteMetrics> metrics) implements ProxyView {
        @Override
        public Map<String, RouteMetrics> routeMetrics() {
            return metrics;
        }

        @Override
        public List<Backend> backends(String routeName) {
            return List.of();
        }

        @Override
        public boolean activelyChecked(String routeName) {
            return false;
        }

        @Override
        public boolean setDrained(String routeName, Backend backend, boolean drained) {
            return false;
        }

        @Override
        public List<ProxiedConnection> liveConnections() {
            return List.of();
        }

        @Override
        public dev.strait.server.capture.Captures captures() {
            throw new UnsupportedOperationException("no captures here");
        }

        @Override
        public boolean isAccepting() {
            return true;
        }
    }
}
