package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigKeyTest {

    @Test
    void parsesItsDefaultTextWithTheParserUsersValuesGoThrough() {
        ConfigKey<Duration> key = ConfigKey.of("timeouts.connect", "duration", "5s", ConfigValues::duration);

        assertThat(key.defaultValue()).isEqualTo(Duration.ofSeconds(5));
        assertThat(key.parse("routes[2].timeouts.connect", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(key.field()).isEqualTo("connect");
    }

    @Test
    void rejectsADefaultItsOwnParserRejects() {
        assertThatThrownBy(() -> ConfigKey.of("timeouts.connect", "duration", "soon", ConfigValues::duration))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("timeouts.connect")
                .hasMessageContaining("\"soon\"");
    }

    @Test
    void hasNoDefaultValueWhenRequiredOrLeftOut() {
        assertThat(ConfigKey.required("listen", "host:port", HostAndPort::parse).isRequired())
                .isTrue();
        assertThatThrownBy(() -> ConfigKey.optional("admin.listen", "host:port", HostAndPort::parse)
                        .defaultValue())
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void listsTheFieldsAllowedInEachMapping() {
        List<ConfigKey<?>> keys = List.of(
                ConfigKey.readByLoader("backends", "list", ConfigKey.REQUIRED),
                ConfigKey.required("backends[].address", "host:port", HostAndPort::parse),
                ConfigKey.of("backends[].weight", "integer", "1", ConfigValues::integer),
                ConfigKey.of("timeouts.connect", "duration", "5s", ConfigValues::duration),
                ConfigKey.of("retries", "integer", "2", ConfigValues::integer));

        assertThat(ConfigKey.fieldsUnder("", keys)).containsExactly("backends", "retries", "timeouts");
        assertThat(ConfigKey.fieldsUnder("backends[]", keys)).containsExactly("address", "weight");
        assertThat(ConfigKey.fieldsUnder("timeouts", keys)).containsExactly("connect");
    }

    @Test
    void rejectsANameThatIsNotAKeyPath() {
        assertThatThrownBy(() -> ConfigKey.of("timeouts..connect", "duration", "5s", ConfigValues::duration))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
