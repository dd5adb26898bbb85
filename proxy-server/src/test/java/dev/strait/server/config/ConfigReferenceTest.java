package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strait.config.ConfigKey;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.HttpCheck;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.RouteCapture;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md against the keys the records declare and the loader accepts: every key has one row in its
 * section's table, no row names a key that does not exist, and every row states the declared default.
 */
class ConfigReferenceTest {
    /** A table row: the key in backticks, then the default cell. */
    private static final Pattern ROW = Pattern.compile("^\\| *(?<key>[^|]*?) *\\| *(?<default>[^|]*?) *\\|");
    /** A default cell: a value in backticks or a word, then an optional remark in parentheses. */
    private static final Pattern DEFAULT = Pattern.compile("(?:`(?<literal>[^`]+)`|(?<word>[a-z]+))(?: \\(.*\\))?");

    @Test
    void documentsEveryTopLevelKeyWithItsDefault() throws IOException {
        assertDocumented(table("Top level"), ProxyConfig.KEYS);
    }

    @Test
    void documentsEveryRouteKeyWithItsDefault() throws IOException {
        assertDocumented(table("Routes"), Route.KEYS);
    }

    @Test
    void acceptsEveryDeclaredKeyWrittenWithItsDefaultAndReadsTheDefaultBack() throws IOException {
        Map<String, Object> route = new LinkedHashMap<>();
        route.put("listen", "127.0.0.1:0");
        route.put("backends", List.of(new LinkedHashMap<>(Map.of("address", "127.0.0.1:1"))));
        Route.KEYS.stream()
                .filter(ConfigReferenceTest::hasDefault)
                .filter(key -> !ConfigReferenceTest.turnsAFeatureOn(key))
                .forEach(key -> put(route, key));
        Map<String, Object> top = new LinkedHashMap<>();
        ProxyConfig.KEYS.stream().filter(ConfigReferenceTest::hasDefault).forEach(key -> put(top, key));
        top.put("routes", List.of(route));

        ProxyConfig config = new ConfigLoader(Map.of()).parse(new YAMLMapper().writeValueAsString(top), "all.yaml");

        Route expected = Route.of("route-0", new HostAndPort("127.0.0.1", 0), List.of(new HostAndPort("127.0.0.1", 1)));
        assertThat(config.routes().get(0))
                .as("every block given with its defaults")
                .usingRecursiveComparison()
                .isEqualTo(TestRoutes.from(expected)
                        .healthCheck(healthCheckWithDefaultHttp())
                        .passiveCheck(new PassiveCheck(
                                PassiveCheck.FAILURES.defaultValue(), PassiveCheck.COOL_OFF.defaultValue()))
                        .capture(new RouteCapture(
                                RouteCapture.SECONDS.defaultValue(),
                                RouteCapture.MAX_BYTES.defaultValue(),
                                RouteCapture.MAX_BYTES.defaultValue()))
                        .build());
        assertThat(config)
                .usingRecursiveComparison()
                .isEqualTo(ProxyConfig.of(List.of(config.routes().get(0))));
    }

    @Test
    void readsADefaultCellAsTheValueOrTheWordBeforeAnyRemark() {
        assertThat(defaultOf("`0s` (off)")).isEqualTo("0s");
        assertThat(defaultOf("`least-connections`")).isEqualTo("least-connections");
        assertThat(defaultOf("required")).isEqualTo("required");
        assertThat(defaultOf("`2s` / `1s`")).as("two defaults in one row").isNull();
    }

    /** The defaults, with the {@code http} block given (as the test writes every block) and so on. */
    private static HealthCheck healthCheckWithDefaultHttp() {
        HealthCheck d = HealthCheck.DEFAULTS;
        return new HealthCheck(
                d.interval(),
                d.timeout(),
                d.rise(),
                d.fall(),
                d.send(),
                d.expect(),
                d.closeOnDown(),
                d.port(),
                d.type(),
                Optional.of(HttpCheck.DEFAULTS),
                d.expectContains(),
                d.postgres(),
                d.closeWithReset());
    }

    private static void assertDocumented(Map<String, String> documented, List<ConfigKey<?>> keys) {
        Map<String, String> declared = new LinkedHashMap<>();
        keys.forEach(key -> declared.put(key.name(), key.defaultText()));

        assertThat(documented.keySet())
                .as("keys in docs/configuration.md")
                .containsExactlyInAnyOrderElementsOf(declared.keySet());
        List<String> differences = new ArrayList<>();
        declared.forEach((key, value) -> {
            if (documented.containsKey(key) && !documented.get(key).equals(value)) {
                differences.add(key + ": the docs say " + documented.get(key) + ", the code " + value);
            }
        });
        assertThat(differences).as("defaults in docs/configuration.md").isEmpty();
    }

    /** Key to default of every row of the first table under the heading {@code ## section}. */
    private static Map<String, String> table(String section) throws IOException {
        List<String> lines = Files.readAllLines(repositoryRoot().resolve("docs/configuration.md"));
        int start = lines.indexOf("## " + section);
        assertThat(start)
                .as("section \"## %s\" in docs/configuration.md", section)
                .isNotNegative();
        Map<String, String> rows = new LinkedHashMap<>();
        List<String> unreadable = new ArrayList<>();
        boolean inTable = false;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ") || (inTable && !line.startsWith("|"))) {
                break;
            }
            Matcher row = ROW.matcher(line);
            if (!row.find()
                    || row.group("key").equals("key")
                    || row.group("key").startsWith("---")) {
                continue;
            }
            inTable = true;
            String key = row.group("key");
            String value = defaultOf(row.group("default"));
            if (!key.matches("`[^`]+`") || value == null) {
                unreadable.add(line);
            } else if (rows.put(key.substring(1, key.length() - 1), value) != null) {
                unreadable.add("(a second row) " + line);
            }
        }
        assertThat(unreadable)
                .as("rows of \"## %s\" that are not one key in backticks and one default", section)
                .isEmpty();
        return rows;
    }

    /** Keys inside a block whose mere presence turns its feature on (TLS), and that needs files: tested with it. */
    private static boolean turnsAFeatureOn(ConfigKey<?> key) {
        return key.name().startsWith("tls.") || key.name().startsWith("backendTls.");
    }

    private static boolean hasDefault(ConfigKey<?> key) {
        return key.parser() != null && !key.isRequired() && !key.defaultText().equals(ConfigKey.NONE);
    }

    /** Puts the key's default at its path: {@code timeouts.connect} in the mapping {@code timeouts}, and so on. */
    @SuppressWarnings("unchecked")
    private static void put(Map<String, Object> mapping, ConfigKey<?> key) {
        Map<String, Object> at = mapping;
        String[] parts = key.name().split("\\.");
        for (int i = 0; i < parts.length - 1; i++) {
            Object child = parts[i].endsWith("[]")
                    ? ((List<Object>) at.get(parts[i].replace("[]", ""))).get(0)
                    : at.computeIfAbsent(parts[i], k -> new LinkedHashMap<String, Object>());
            at = (Map<String, Object>) child;
        }
        at.put(parts[parts.length - 1], key.defaultText());
    }

    private static String defaultOf(String cell) {
        Matcher m = DEFAULT.matcher(cell);
        if (!m.matches()) {
            return null;
        }
        return m.group("literal") != null ? m.group("literal") : m.group("word");
    }

    private static Path repositoryRoot() {
        // Surefire runs in proxy-server/; an IDE may run in the repository root.
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("docs/configuration.md"))) {
                return dir;
            }
        }
        throw new IllegalStateException(
                "no docs/configuration.md above " + Path.of("").toAbsolutePath());
    }
}
