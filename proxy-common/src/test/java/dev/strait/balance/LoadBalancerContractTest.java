package dev.strait.balance;

import static dev.strait.balance.TestBackends.NONE;
import static dev.strait.balance.TestBackends.backend;
import static dev.strait.balance.TestBackends.backup;
import static dev.strait.balance.TestBackends.capped;
import static dev.strait.balance.TestBackends.client;
import static dev.strait.balance.TestBackends.count;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BalanceAlgorithm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The {@link LoadBalancer} contract, checked for every algorithm over 1,000 or more picks. */
class LoadBalancerContractTest {
    private static final int PICKS = 1_000;

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void neverPicksAnUnhealthyBackend(BalanceAlgorithm algorithm) {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3), backend(4));
        backends.get(1).setHealthy(false);

        Map<Backend, Integer> counts = count(Balancers.create(algorithm), backends, PICKS, false);

        assertThat(counts).doesNotContainKeys(backends.get(1), null);
        assertThat(counts.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(PICKS);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void neverPicksADrainedBackendAndPicksItAgainOnceEnabled(BalanceAlgorithm algorithm) {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3));
        LoadBalancer balancer = Balancers.create(algorithm);
        backends.get(2).setDrained(true);

        assertThat(count(balancer, backends, PICKS, false)).doesNotContainKeys(backends.get(2), null);

        backends.get(2).setDrained(false);
        List<Backend> onlyThird = List.of(backends.get(2));
        assertThat(count(balancer, onlyThird, PICKS, false)).containsOnlyKeys(backends.get(2));
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void keepsADrainedBackendOutThroughHealthChangesAndADownOneOutWhenEnabled(BalanceAlgorithm algorithm) {
        Backend only = backend(1);
        List<Backend> backends = List.of(only);
        LoadBalancer balancer = Balancers.create(algorithm);

        only.setDrained(true);
        only.setHealthy(false);
        only.setHealthy(true); // a check brought it back: still drained
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys((Backend) null);

        only.setHealthy(false);
        only.setDrained(false); // enabled while down: still out until a check brings it up
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys((Backend) null);

        only.setHealthy(true);
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys(only);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void fallsBackToABackupWhenEveryPrimaryIsDrained(BalanceAlgorithm algorithm) {
        Backend primary = backend(1);
        Backend backup = backup(2);
        primary.setDrained(true);

        assertThat(count(Balancers.create(algorithm), List.of(primary, backup), PICKS, false))
                .containsOnlyKeys(backup);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void neverExceedsABackendsMaxConnections(BalanceAlgorithm algorithm) {
        List<Backend> backends = List.of(capped(1, 3), capped(2, 5), backend(3));

        Map<Backend, Integer> counts = count(Balancers.create(algorithm), backends, PICKS, true);

        assertThat(backends.get(0).activeConnections()).isEqualTo(3);
        assertThat(backends.get(1).activeConnections()).isEqualTo(5);
        assertThat(counts.get(backends.get(2))).isEqualTo(PICKS - 8);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void returnsNullOnceEveryBackendIsAtItsCap(BalanceAlgorithm algorithm) {
        List<Backend> backends = List.of(capped(1, 2), capped(2, 3));

        Map<Backend, Integer> counts = count(Balancers.create(algorithm), backends, PICKS, true);

        assertThat(counts.get(null)).isEqualTo(PICKS - 5);
        assertThat(backends).extracting(Backend::activeConnections).containsExactly(2, 3);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void usesBackupsOnlyWhenNoPrimaryIsAvailable(BalanceAlgorithm algorithm) {
        Backend primary1 = backend(1);
        Backend primary2 = backend(2);
        Backend backup3 = backup(3);
        Backend backup4 = backup(4);
        List<Backend> backends = List.of(backup3, primary1, backup4, primary2);
        LoadBalancer balancer = Balancers.create(algorithm);

        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys(primary1, primary2);

        primary1.setHealthy(false);
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys(primary2);

        primary2.setHealthy(false);
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys(backup3, backup4);

        primary1.setHealthy(true);
        assertThat(count(balancer, backends, PICKS, false)).containsOnlyKeys(primary1);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void skipsExcludedBackendsAndFallsBackToBackupsWhenEveryPrimaryWasTried(BalanceAlgorithm algorithm) {
        List<Backend> backends = List.of(backend(1), backend(2), backend(3), backend(4), backup(5));
        LoadBalancer balancer = Balancers.create(algorithm);
        Set<Backend> tried = Set.of(backends.get(0), backends.get(2));

        for (int n = 0; n < PICKS; n++) {
            assertThat(balancer.pick(client(n), backends, tried)).isIn(backends.get(1), backends.get(3));
        }
        Set<Backend> allPrimaries = Set.copyOf(backends.subList(0, 4));
        assertThat(balancer.pick(client(0), backends, allPrimaries)).isSameAs(backends.get(4));
        assertThat(balancer.pick(client(0), backends, Set.copyOf(backends))).isNull();
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void returnsNullWhenNothingIsEligible(BalanceAlgorithm algorithm) {
        LoadBalancer balancer = Balancers.create(algorithm);
        List<Backend> allDown = List.of(backend(1), backup(2));
        allDown.forEach(b -> b.setHealthy(false));

        assertThat(balancer.pick(client(1), List.of(), NONE)).isNull();
        assertThat(balancer.pick(client(1), allDown, NONE)).isNull();
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void followsTheBackendListWhenItChangesBetweenPicks(BalanceAlgorithm algorithm) {
        LoadBalancer balancer = Balancers.create(algorithm);
        List<Backend> before = List.of(backend(1), backend(2), backend(3));
        List<Backend> after = List.of(before.get(0), backend(2), backend(4)); // 2 re-created, 3 gone, 4 new
        count(balancer, before, PICKS, false);

        Map<Backend, Integer> counts = count(balancer, after, PICKS, false);

        assertThat(counts.keySet()).isSubsetOf(after).doesNotContain(before.get(1), before.get(2));
        assertThat(counts.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(PICKS);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void survivesFourThreadsPickingAtOnce(BalanceAlgorithm algorithm) throws Exception {
        List<Backend> backends = List.of(backend(1, 1, 0, false), backend(2, 2, 0, false), backend(3, 3, 0, false));
        LoadBalancer balancer = Balancers.create(algorithm);
        int threads = 4;
        int picksEach = 10_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Callable<int[]>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(() -> {
                int[] perBackend = new int[backends.size()];
                start.await();
                for (int n = 0; n < picksEach; n++) {
                    Backend picked = balancer.pick(client(n), backends, NONE);
                    picked.connectionStarted();
                    perBackend[backends.indexOf(picked)]++;
                    picked.connectionEnded();
                }
                return perBackend;
            });
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<int[]>> results = new ArrayList<>();
            workers.forEach(w -> results.add(pool.submit(w)));
            start.countDown();
            int total = 0;
            for (Future<int[]> result : results) {
                for (int picked : result.get(1, TimeUnit.MINUTES)) {
                    total += picked;
                }
            }
            assertThat(total).isEqualTo(threads * picksEach);
            assertThat(backends).extracting(Backend::activeConnections).containsOnly(0);
        } finally {
            pool.shutdownNow();
        }
    }
}
