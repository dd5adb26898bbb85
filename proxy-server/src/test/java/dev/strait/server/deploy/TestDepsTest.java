package dev.strait.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Debian packages the tests name when a program is missing are all in {@code scripts/test-deps}, the one list
 * {@code make test} and {@code .ci/run} install from.
 */
class TestDepsTest {
    /** {@code require("psql", "postgresql-client")}: a program and the package that ships it. */
    private static final Pattern REQUIRE = Pattern.compile("require\\(\\s*\"[^\"]+\",\\s*\"([^\"]+)\"");

    /** {@code test_packages=(...)}, then a {@code test_packages+=(...)} line per feature that needs its own tools. */
    private static final Pattern TEST_PACKAGES = Pattern.compile("(?m)^test_packages\\+?=\\(([^)]*)\\)");

    @Test
    void everyPackageATestAsksForIsInTheTestDepsList() throws IOException {
        Path repo = repositoryRoot();
        Matcher list = TEST_PACKAGES.matcher(Files.readString(repo.resolve("scripts/test-deps")));
        List<String> listed = new java.util.ArrayList<>();
        while (list.find()) {
            listed.addAll(List.of(list.group(1).trim().split("\\s+")));
        }
        assertThat(listed).as("test_packages=(...) in scripts/test-deps").isNotEmpty();

        TreeSet<String> asked = new TreeSet<>();
        try (Stream<Path> sources = Files.walk(repo.resolve("proxy-server/src/test/java"))) {
            for (Path source :
                    sources.filter(f -> f.toString().endsWith(".java")).toList()) {
                Matcher m = REQUIRE.matcher(Files.readString(source));
                while (m.find()) {
                    asked.add(m.group(1));
                }
            }
        }
        asked.add("systemd"); // DeployManifestsTest runs systemd-analyze
        assertThat(asked).as("packages the tests ask for").contains("postgresql-client", "openssh-server");
        assertThat(listed).containsAll(asked);
    }

    @Test
    void makeTestAndCiInstallFromTheSameScript() throws IOException {
        Path repo = repositoryRoot();
        List<String> makefile = Files.readAllLines(repo.resolve("Makefile"));
        int test = makefile.indexOf("test:");
        assertThat(test).as("a test: target in the Makefile").isNotNegative();
        assertThat(makefile.get(test + 1).trim()).isEqualTo("scripts/test-deps");
        assertThat(Files.readString(repo.resolve(".ci/run"))).contains("scripts/test-deps all");
    }

    private static Path repositoryRoot() {
        List<Path> tried = new ArrayList<>();
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("scripts/test-deps"))) {
                return dir;
            }
            tried.add(dir);
        }
        throw new IllegalStateException("no scripts/test-deps in " + tried);
    }
}
