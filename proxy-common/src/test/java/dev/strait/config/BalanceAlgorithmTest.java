package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
