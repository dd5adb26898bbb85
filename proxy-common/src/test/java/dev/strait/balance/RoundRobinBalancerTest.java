package dev.strait.balance;

import static dev.strait.balance.TestBackends.NONE;
import static dev.strait.balance.TestBackends.backend;
import static dev.strait.balance.TestBackends.client;
import static dev.strait.balance.TestBackends.count;
import static dev.strait.balance.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinBalancerTest {
    private final RoundRobinBalancer balancer = new RoundRobinBalancer();

    @Test
    void rotatesThroughEqualBackendsInOrder() {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));

        assertThat(picks(backends, 6)).containsExactly(1, 2, 3, 1, 2, 3);
    }

    @Test
    void interleavesWeightsSmoothlyAsNginxDoes() {
        List<Backend> backends = List.of(weighted(1, 5), weighted(2, 1), weighted(3, 1));

        assertThat(picks(backends, 14)).containsExactly(1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1);
    }

    @Test
    void sharesPicksExactlyInProportionToWeight() {
        List<Backend> backends = List.of(weighted(1, 1), weighted(2, 2), weighted(3, 3));

        Map<Backend, Integer> counts = count(balancer, backends, 6_000, false);

        // Exact, which is within any tolerance: every 6 picks are one full cycle of 1 + 2 + 3.
        assertThat(backends).extracting(counts::get).containsExactly(1_000, 2_000, 3_000);
    }

    @Test
    void sharesEquallyAmongTheRestWhileTheHeaviestBackendIsDown() {
        List<Backend> backends = List.of(weighted(1, 5), weighted(2, 1), weighted(3, 1));
        backends.get(0).setHealthy(false);

        assertThat(picks(backends, 6)).containsExactly(2, 3, 2, 3, 2, 3);
    }

    @Test
    void keepsItsPlaceWhenTheSameBackendsArriveInANewList() {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));
        List<Integer> seen = new ArrayList<>(picks(backends, 2));

        seen.addAll(picks(List.copyOf(new ArrayList<>(backends)), 4));

        assertThat(seen).containsExactly(1, 2, 3, 1, 2, 3);
    }

    /** The last octet of each of {@code n} picks. */
    private List<Integer> picks(List<Backend> backends, int n) {
        List<Integer> octets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Backend picked = balancer.pick(client(i), backends, NONE);
            octets.add(picked.address().getAddress().getAddress()[3] & 0xff);
        }
        return octets;
    }
}
