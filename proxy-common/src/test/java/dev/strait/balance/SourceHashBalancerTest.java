package dev.strait.balance;

import static dev.strait.balance.TestBackends.NONE;
import static dev.strait.balance.TestBackends.backend;
import static dev.strait.balance.TestBackends.client;
import static dev.strait.balance.TestBackends.count;
import static dev.strait.balance.TestBackends.percent;
import static dev.strait.balance.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SourceHashBalancerTest {
    private static final int CLIENTS = 10_000;

    private final SourceHashBalancer balancer = new SourceHashBalancer();
    private final List<Backend> five = List.of(backend(1), backend(2), backend(3), backend(4), backend(5));

    @Test
    void givesAClientTheSameBackendEveryTimeWhateverTheListOrder() {
        Backend[] first = placement(balancer, five);
        List<Backend> reversed = new ArrayList<>(five);
        Collections.reverse(reversed);

        assertThat(placement(balancer, five)).containsExactly(first);
        assertThat(placement(new SourceHashBalancer(), List.copyOf(reversed))).containsExactly(first);
    }

    @Test
    void spreadsClientsEvenlyOverTheBackends() {
        Map<Backend, Integer> counts = count(balancer, five, CLIENTS, false);

        // 160 points per backend leave a few points of spread (18.5% to 21.2% for these names); +-4 allows for it.
        for (Backend backend : five) {
            assertThat(percent(counts, backend, CLIENTS)).as("%s", backend).isCloseTo(20.0, within(4.0));
        }
    }

    @Test
    void sharesClientsInProportionToWeight() {
        List<Backend> backends = List.of(weighted(1, 1), weighted(2, 2), weighted(3, 3));

        Map<Backend, Integer> counts = count(balancer, backends, CLIENTS, false);

        assertThat(percent(counts, backends.get(0), CLIENTS)).isCloseTo(100.0 / 6, within(3.0));
        assertThat(percent(counts, backends.get(1), CLIENTS)).isCloseTo(200.0 / 6, within(3.0));
        assertThat(percent(counts, backends.get(2), CLIENTS)).isCloseTo(300.0 / 6, within(3.0));
    }

    @Test
    void movesOnlyTheClientsOfARemovedBackend() {
        Backend removed = five.get(2);
        Backend[] before = placement(balancer, five);
        List<Backend> four = new ArrayList<>(five);
        four.remove(removed);

        Backend[] after = placement(balancer, List.copyOf(four));

        for (int n = 0; n < CLIENTS; n++) {
            if (before[n] == removed) {
                assertThat(after[n]).isNotSameAs(removed);
            } else {
                assertThat(after[n]).as("client %d", n).isSameAs(before[n]);
            }
        }
    }

    @Test
    void movesAboutOneSixthOfTheClientsAllToTheNewBackendWhenASixthIsAdded() {
        Backend added = backend(6);
        Backend[] before = placement(balancer, five);
        List<Backend> six = new ArrayList<>(five);
        six.add(added);

        Backend[] after = placement(balancer, List.copyOf(six));

        int moved = 0;
        for (int n = 0; n < CLIENTS; n++) {
            if (after[n] != before[n]) {
                assertThat(after[n]).isSameAs(added);
                moved++;
            }
        }
        assertThat(100.0 * moved / CLIENTS).isBetween(10.0, 30.0);
    }

    @Test
    void sendsAClientToTheNextBackendClockwiseWhileItsOwnIsDownAndBackAfter() {
        InetAddress client = client(42);
        Backend home = balancer.pick(client, five, NONE);

        home.setHealthy(false);
        Backend standIn = balancer.pick(client, five, NONE);
        assertThat(standIn).isNotNull().isNotSameAs(home);
        assertThat(balancer.pick(client, five, Set.of(standIn))).isNotNull().isNotIn(home, standIn);

        home.setHealthy(true);
        assertThat(balancer.pick(client, five, NONE)).isSameAs(home);
        assertThat(balancer.pick(client, five, Set.of(home))).isSameAs(standIn);
    }

    @Test
    void placesIpv6ClientsToo() throws UnknownHostException {
        Set<Backend> used = new HashSet<>();
        for (int n = 0; n < 1_000; n++) {
            InetAddress client = InetAddress.getByName("2001:db8::" + Integer.toHexString(n));
            Backend picked = balancer.pick(client, five, NONE);
            assertThat(balancer.pick(client, five, NONE)).isSameAs(picked);
            used.add(picked);
        }
        assertThat(used).containsExactlyInAnyOrderElementsOf(five);
    }

    private static Backend[] placement(LoadBalancer balancer, List<Backend> backends) {
        Backend[] placed = new Backend[CLIENTS];
        for (int n = 0; n < CLIENTS; n++) {
            placed[n] = balancer.pick(client(n), backends, NONE);
        }
        return placed;
    }
}
