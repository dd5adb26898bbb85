package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code ${VAR}}, {@code ${VAR:-default}} and {@code $$} in config values. */
class EnvExpanderTest {
    private final EnvExpander env = new EnvExpander(Map.of("HOST", "10.0.0.7", "PORT", "5432", "EMPTY", ""));

    @Test
    void returnsAValueWithoutDollarUnchanged() {
        String value = "127.0.0.1:5432";

        assertThat(env.expand("listen", value)).isSameAs(value);
    }

    @Test
    void turnsADoubleDollarIntoOneLiteralDollar() {
        assertThat(env.expand("send", "pa$$word")).isEqualTo("pa$word");
        assertThat(env.expand("send", "$$")).isEqualTo("$");
    }

    @Test
    void doesNotExpandAReferenceEscapedWithADoubleDollar() {
        assertThat(env.expand("send", "$${HOST}")).isEqualTo("${HOST}");
    }

    @Test
    void leavesALoneDollarThatStartsNoReferenceAsItIs() {
        assertThat(env.expand("send", "costs $5")).isEqualTo("costs $5");
    }

    @Test
    void expandsEveryReferenceInOneValue() {
        assertThat(env.expand("listen", "${HOST}:${PORT}")).isEqualTo("10.0.0.7:5432");
        assertThat(env.expand("send", "${HOST}-${UNSET:-x}-${HOST}-$$")).isEqualTo("10.0.0.7-x-10.0.0.7-$");
    }

    @Test
    void usesTheDefaultWhenTheVariableIsUnsetOrEmpty() {
        assertThat(env.expand("listen", "${UNSET:-0.0.0.0}:1")).isEqualTo("0.0.0.0:1");
        assertThat(env.expand("listen", "${EMPTY:-0.0.0.0}:1")).isEqualTo("0.0.0.0:1");
        assertThat(env.expand("listen", "${HOST:-0.0.0.0}:1")).isEqualTo("10.0.0.7:1");
    }

    @Test
    void expandsAnEmptyVariableWithoutADefaultToNothing() {
        assertThat(env.expand("name", "a${EMPTY}b")).isEqualTo("ab");
    }

    @Test
    void takesDefaultsLiterallyEvenWithBackslashesAndDollars() {
        assertThat(env.expand("send", "${UNSET:-C:\\dir\\$1}")).isEqualTo("C:\\dir\\$1");
    }

    @Test
    void rejectsAnUnsetVariableWithoutADefaultNamingTheKeyAndTheVariable() {
        assertThatThrownBy(() -> env.expand("routes[0].listen", "${DB_HOST}:5432"))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo("routes[0].listen"))
                .hasMessageContaining("routes[0].listen")
                .hasMessageContaining("DB_HOST");
    }
}
