package dev.strait.balance;

import static dev.strait.balance.TestBackends.NONE;
import static dev.strait.balance.TestBackends.backend;
import static dev.strait.balance.TestBackends.client;
import static dev.strait.balance.TestBackends.count;
import static dev.strait.balance.TestBackends.percent;
import static dev.strait.balance.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RandomBalancerTest {
    private static final int PICKS = 6_000;

    private final RandomBalancer balancer = new RandomBalancer();

    @Test
    void drawsBackendsInProportionToWeight() {
        List<Backend> backends = List.of(weighted(1, 1), weighted(2, 2), weighted(3, 3));

        Map<Backend, Integer> counts = count(balancer, backends, PICKS, false);

        // +-5 percentage points is about ten standard deviations for 6,000 draws: never flaky.
        assertThat(percent(counts, backends.get(0), PICKS)).isCloseTo(100.0 / 6, within(5.0));
        assertThat(percent(counts, backends.get(1), PICKS)).isCloseTo(200.0 / 6, within(5.0));
        assertThat(percent(counts, backends.get(2), PICKS)).isCloseTo(300.0 / 6, within(5.0));
    }

    @Test
    void keepsLongLivedConnectionsInProportionToWeight() {
        List<Backend> backends = List.of(weighted(1, 1), weighted(2, 2), weighted(3, 3));

        Map<Backend, Integer> counts = count(balancer, backends, PICKS, true);

        // Comparing two loads per pick keeps live shares within a connection or two of exact: +-1 percentage point.
        assertThat(percent(counts, backends.get(0), PICKS)).isCloseTo(100.0 / 6, within(1.0));
        assertThat(percent(counts, backends.get(1), PICKS)).isCloseTo(200.0 / 6, within(1.0));
        assertThat(percent(counts, backends.get(2), PICKS)).isCloseTo(300.0 / 6, within(1.0));
    }

    @Test
    void comparesTwoDistinctBackendsSoTheLessLoadedOfTwoAlwaysWins() {
        Backend busy = backend(1);
        Backend idle = backend(2);
        busy.connectionStarted();

        for (int n = 0; n < 1_000; n++) {
            assertThat(balancer.pick(client(n), List.of(busy, idle), NONE)).isSameAs(idle);
        }
    }

    @Test
    void picksTheOnlyEligibleBackend() {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));
        backends.get(0).setHealthy(false);
        backends.get(2).setHealthy(false);

        assertThat(count(balancer, backends, 1_000, false)).containsOnlyKeys(backends.get(1));
    }
}
