package dev.strait.balance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BalanceAlgorithm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BalancersTest {

    @Test
    void makesTheBalancerEachAlgorithmNames() {
        assertThat(Balancers.create(BalanceAlgorithm.ROUND_ROBIN)).isInstanceOf(RoundRobinBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.LEAST_CONNECTIONS)).isInstanceOf(LeastConnectionsBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.RANDOM)).isInstanceOf(RandomBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.SOURCE_HASH)).isInstanceOf(SourceHashBalancer.class);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void makesAFreshBalancerEachTimeSoRoutesShareNoState(BalanceAlgorithm algorithm) {
        assertThat(Balancers.create(algorithm)).isNotSameAs(Balancers.create(algorithm));
    }
}
