package dev.strait.balance;

import static dev.strait.balance.TestBackends.NONE;
import static dev.strait.balance.TestBackends.backend;
import static dev.strait.balance.TestBackends.client;
import static dev.strait.balance.TestBackends.count;
import static dev.strait.balance.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastConnectionsBalancerTest {
    private final LeastConnectionsBalancer balancer = new LeastConnectionsBalancer();

    @Test
    void picksTheBackendWithTheFewestLiveConnections() {
        List<Backend> backends =
                List.of(withConnections(backend(1), 5), withConnections(backend(2), 2), withConnections(backend(3), 7));

        for (int n = 0; n < 1_000; n++) {
            assertThat(balancer.pick(client(n), backends, NONE)).isSameAs(backends.get(1));
        }
    }

    @Test
    void comparesLiveConnectionsPerUnitOfWeight() {
        Backend light = withConnections(weighted(1, 1), 2); // 2 per unit of weight
        Backend heavy = withConnections(weighted(2, 3), 5); // 1.67 per unit of weight

        assertThat(balancer.pick(client(0), List.of(light, heavy), NONE)).isSameAs(heavy);
    }

    @Test
    void spreadsLongLivedConnectionsEvenly() {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));

        count(balancer, backends, 3_000, true);

        assertThat(backends).extracting(Backend::activeConnections).containsOnly(1_000);
    }

    @Test
    void sharesLongLivedConnectionsByWeight() {
        List<Backend> backends = List.of(weighted(1, 1), weighted(2, 2), weighted(3, 3));

        count(balancer, backends, 6_000, true);

        // Within one connection of exact, i.e. well inside +-0.1 percentage points.
        assertThat(backends.get(0).activeConnections()).isCloseTo(1_000, within(1));
        assertThat(backends.get(1).activeConnections()).isCloseTo(2_000, within(1));
        assertThat(backends.get(2).activeConnections()).isCloseTo(3_000, within(1));
    }

    @Test
    void rotatesAmongEquallyLoadedBackends() {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));

        Map<Backend, Integer> counts = count(balancer, backends, 3_000, false);

        assertThat(backends).extracting(counts::get).containsOnly(1_000);
    }

    @Test
    void sendsNewConnectionsToARecoveredBackendUntilItCatchesUp() {
        List<Backend> backends = List.of(backend(1), backend(2));
        backends.get(1).setHealthy(false);
        count(balancer, backends, 100, true);
        backends.get(1).setHealthy(true);

        Map<Backend, Integer> counts = count(balancer, backends, 100, true);

        assertThat(counts).containsOnlyKeys(backends.get(1));
    }

    private static Backend withConnections(Backend backend, int connections) {
        for (int i = 0; i < connections; i++) {
            backend.connectionStarted();
        }
        return backend;
    }
}
