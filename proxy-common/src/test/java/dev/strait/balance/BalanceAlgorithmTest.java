package dev.strait.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BalanceAlgorithmTest {

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void parsesItsOwnConfigName(BalanceAlgorithm algorithm) {
        assertThat(BalanceAlgorithm.parse("k", algorithm.configName())).isSameAs(algorithm);
    }

    @Test
    void spellsConfigNamesInKebabCase() {
        assertThat(BalanceAlgorithm.values())
                .extracting(BalanceAlgorithm::configName)
                .containsExactly("round-robin", "least-connections", "random", "source-hash");
    }

    @Test
    void rejectsUnknownNamesNamingTheKeyAndValue() {
        assertThatThrownBy(() -> BalanceAlgorithm.parse("routes[0].balance", "leastconn"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("routes[0].balance: bad value \"leastconn\" "
                        + "(expected round-robin, least-connections, random or source-hash)");
        assertThatThrownBy(() -> BalanceAlgorithm.parse("k", "ROUND_ROBIN")).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> BalanceAlgorithm.parse("k", null)).isInstanceOf(ConfigException.class);
    }

    @Test
    void makesTheMatchingBalancerAFreshOneEachTime() {
        assertThat(BalanceAlgorithm.ROUND_ROBIN.newBalancer()).isInstanceOf(RoundRobinBalancer.class);
        assertThat(BalanceAlgorithm.LEAST_CONNECTIONS.newBalancer()).isInstanceOf(LeastConnectionsBalancer.class);
        assertThat(BalanceAlgorithm.RANDOM.newBalancer()).isInstanceOf(RandomBalancer.class);
        assertThat(BalanceAlgorithm.SOURCE_HASH.newBalancer()).isInstanceOf(SourceHashBalancer.class);
        assertThat(BalanceAlgorithm.ROUND_ROBIN.newBalancer()).isNotSameAs(BalanceAlgorithm.ROUND_ROBIN.newBalancer());
    }
}
