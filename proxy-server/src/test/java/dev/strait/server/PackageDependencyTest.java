package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The main code's package graph, read from the {@code import} lines of both modules' {@code src/main/java}: no package
 * loop, and every arrow points down the layers below. A new package has to take a place in {@link #LAYERS}.
 */
class PackageDependencyTest {
    /** Top first; a package may import only packages of a lower layer, never one of its own layer or above. */
    private static final List<Set<String>> LAYERS = List.of(
            Set.of("dev.strait.server"),
            Set.of("dev.strait.server.admin", "dev.strait.server.config"),
            Set.of("dev.strait.server.connection"),
            Set.of("dev.strait.server.sni"),
            Set.of("dev.strait.server.postgres"),
            Set.of("dev.strait.server.route", "dev.strait.server.proxyprotocol", "dev.strait.server.termination"),
            Set.of(
                    "dev.strait.server.backend",
                    "dev.strait.server.listen",
                    "dev.strait.server.lifecycle",
                    "dev.strait.server.accesslog",
                    "dev.strait.server.capture"),
            Set.of("dev.strait.server.metrics"),
            Set.of("dev.strait.server.probe"),
            Set.of("dev.strait.server.tls"),
            Set.of("dev.strait.relay", "dev.strait.balance", "dev.strait.transport", "dev.strait.proxyprotocol"),
            Set.of("dev.strait.config"));

    private static final List<Path> SOURCES =
            List.of(Path.of("src/main/java"), Path.of("../proxy-common/src/main/java"));
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern IMPORT =
            Pattern.compile("^import\\s+(?:static\\s+)?(dev\\.strait\\.[\\w.*]+);", Pattern.MULTILINE);

    /** Package -> the other Strait packages it imports. */
    private static Map<String, Set<String>> graph;

    @BeforeAll
    static void readImports() {
        graph = new TreeMap<>();
        for (Path root : SOURCES) {
            assertThat(root)
                    .as("source root, relative to %s", Path.of("").toAbsolutePath())
                    .isDirectory();
            try (Stream<Path> files = Files.walk(root)) {
                files.filter(f -> f.toString().endsWith(".java")).forEach(PackageDependencyTest::read);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Test
    void readsEveryPackageOfBothModules() {
        assertThat(graph.keySet()).contains("dev.strait.server", "dev.strait.server.admin", "dev.strait.config");
    }

    @Test
    void givesEveryMainPackageALayer() {
        Set<String> placed = new TreeSet<>();
        LAYERS.forEach(placed::addAll);

        assertThat(placed).containsAll(graph.keySet());
    }

    @Test
    void importsNoPackageThatLeadsBackToTheImporter() {
        List<List<String>> loops = new ArrayList<>();
        for (String start : graph.keySet()) {
            findLoop(start, new ArrayList<>(List.of(start)), loops);
        }

        assertThat(loops).as("package import loops").isEmpty();
    }

    @Test
    void importsOnlyFromLowerLayers() {
        List<String> upward = new ArrayList<>();
        graph.forEach((from, targets) -> targets.forEach(to -> {
            if (layerOf(to) <= layerOf(from)) {
                upward.add(from + " -> " + to);
            }
        }));

        assertThat(upward).as("imports that point sideways or up").isEmpty();
    }

    private static void read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher pkg = PACKAGE.matcher(text);
        assertThat(pkg.find()).as("package line in %s", file).isTrue();
        String from = pkg.group(1);
        if (!from.startsWith("dev.strait.")) {
            return; // Netty's patched OpenSSL engine (io.netty.handler.ssl) is Netty's code, outside these layers
        }
        Set<String> targets = graph.computeIfAbsent(from, p -> new TreeSet<>());
        Matcher imports = IMPORT.matcher(text);
        while (imports.find()) {
            String to = packageOf(imports.group(1));
            if (!to.equals(from)) {
                targets.add(to);
            }
        }
    }

    /** The package part of an imported name: the segments before the first type (capitalised) or {@code *}. */
    private static String packageOf(String imported) {
        List<String> segments = new ArrayList<>();
        for (String s : imported.split("\\.")) {
            if (s.equals("*") || Character.isUpperCase(s.charAt(0))) {
                break;
            }
            segments.add(s);
        }
        return String.join(".", segments);
    }

    /** Depth-first from the last package on {@code path}; records each loop back to the path's first package. */
    private static void findLoop(String start, List<String> path, List<List<String>> loops) {
        String at = path.get(path.size() - 1);
        for (String next : graph.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> loop = new ArrayList<>(path);
                loop.add(start);
                loops.add(loop);
            } else if (!path.contains(next) && next.compareTo(start) > 0) {
                // Only through packages after the start, so each loop is reported once, from its smallest package.
                path.add(next);
                findLoop(start, path, loops);
                path.remove(path.size() - 1);
            }
        }
    }

    private static int layerOf(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return -1; // unplaced: givesEveryMainPackageALayer names it, and an import of it counts as pointing up
    }
}
