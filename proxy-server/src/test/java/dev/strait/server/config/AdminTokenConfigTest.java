package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.AdminToken;
import dev.strait.config.ConfigException;
import dev.strait.config.ProxyConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code admin.token}: read from the environment, empty means none, too short fails naming the key, never shown. */
class AdminTokenConfigTest {
    private static final String SECRET = "correct-horse-battery-staple";

    private static String config(String token) {
        return "admin:\n  listen: 127.0.0.1:9901\n  token: " + token + "\n"
                + "routes:\n  - listen: 127.0.0.1:15432\n    backends: [127.0.0.1:5432]\n";
    }

    @Test
    void readsTheTokenFromTheEnvironment() {
        ProxyConfig config = new ConfigLoader(Map.of("STRAIT_ADMIN_TOKEN", SECRET))
                .parse(config("\"${STRAIT_ADMIN_TOKEN}\""), "test.yaml");

        assertThat(config.adminToken()).map(AdminToken::value).contains(SECRET);
        assertThat(config.adminToken().orElseThrow().matches(SECRET)).isTrue();
        assertThat(config.adminToken().orElseThrow().matches(SECRET + "!")).isFalse();
        assertThat(config.adminToken().orElseThrow().matches(null)).isFalse();
    }

    @Test
    void hasNoTokenWhenTheKeyIsAbsentOrTheValueEmpty() {
        ProxyConfig unset = new ConfigLoader(Map.of()).parse(config("\"${STRAIT_ADMIN_TOKEN:-}\""), "test.yaml");
        ProxyConfig absent = new ConfigLoader(Map.of())
                .parse("routes:\n  - listen: 127.0.0.1:15432\n    backends: [127.0.0.1:5432]\n", "test.yaml");

        assertThat(unset.adminToken()).isEmpty();
        assertThat(absent.adminToken()).isEmpty();
    }

    @Test
    void refusesAShortTokenNamingTheKeyButNotTheValue() {
        assertThatThrownBy(() -> new ConfigLoader(Map.of()).parse(config("short-secret"), "test.yaml"))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo("admin.token"))
                .hasMessageContaining("at least 16 characters")
                .hasMessageNotContaining("short-secret");
        assertThatThrownBy(() -> new ConfigLoader(Map.of()).parse(config("\"has a space in it, long\""), "test.yaml"))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo("admin.token"))
                .hasMessageNotContaining("space in it");
    }

    @Test
    void neverShowsTheTokenInTheConfigsText() {
        ProxyConfig config = new ConfigLoader(Map.of("T", SECRET)).parse(config("\"${T}\""), "test.yaml");

        assertThat(config.toString()).doesNotContain(SECRET);
    }

    @Test
    void keepsTheNewTokenAcrossAReloadOfTheRestartOnlySettings() {
        ProxyConfig running = new ConfigLoader(Map.of()).parse(config("\"${X:-}\""), "a.yaml");
        ProxyConfig next = new ConfigLoader(Map.of("T", SECRET)).parse(config("\"${T}\""), "b.yaml");

        assertThat(next.withRestartOnlyOf(running).adminToken())
                .map(AdminToken::value)
                .contains(SECRET);
    }
}
