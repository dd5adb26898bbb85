package dev.strait.server.sni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.ConfigException;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.SniTarget;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SniMatcherTest {
    private final SniMatcher matcher = new SniMatcher(List.of(
            target("*.pg.example.com"), target("db1.pg.example.com", "DB1.Example.com."), target("*.example.com")));

    @Test
    void prefersAnExactNameToAWildcard() {
        assertThat(matcher.match("db1.pg.example.com")).isEqualTo("db1.pg.example.com");
        assertThat(matcher.match("db2.pg.example.com")).isEqualTo("*.pg.example.com");
    }

    @Test
    void ignoresCaseAndATrailingDot() {
        assertThat(matcher.match("DB1.PG.Example.Com.")).isEqualTo("db1.pg.example.com");
        assertThat(matcher.match("db1.example.com")).isEqualTo("db1.pg.example.com");
    }

    @Test
    void aWildcardCoversExactlyOneLabel() {
        assertThat(matcher.match("pg.example.com")).isEqualTo("*.example.com");
        assertThat(matcher.match("a.b.pg.example.com")).isNull();
        assertThat(matcher.match("example.com")).isNull();
        assertThat(matcher.match("other.org")).isNull();
        assertThat(matcher.match(null)).isNull();
        assertThat(matcher.match("")).isNull();
    }

    @Test
    void refusesNamesThatAreNotHostNames() {
        assertThatThrownBy(() -> target("a.*.example.com"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("a.*.example.com");
        assertThatThrownBy(() -> target("bad name")).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> target("*")).isInstanceOf(ConfigException.class);
    }

    private static SniTarget target(String... names) {
        return new SniTarget(
                List.of(names),
                List.of(BackendSpec.of(new HostAndPort("127.0.0.1", 1))),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                2);
    }
}
