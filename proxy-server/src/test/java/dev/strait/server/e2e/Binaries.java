package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Finds the peer programs the end-to-end tests run. A missing program fails the test loudly, in CI and
 * elsewhere alike: these tests never skip.
 */
final class Binaries {
    private Binaries() {}

    /** {@code name} from the PATH, or from one of {@code fallbacks}; fails naming the Debian package. */
    static Path require(String name, String debianPackage, Path... fallbacks) {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, name));
            }
        }
        candidates.addAll(List.of(fallbacks));
        return candidates.stream()
                .filter(Files::isExecutable)
                .findFirst()
                .orElseGet(() -> missing(name, debianPackage));
    }

    /** {@code sshd}, which refuses to start unless invoked by its absolute path. */
    static Path sshd() {
        Path sshd = Path.of("/usr/sbin/sshd");
        return Files.isExecutable(sshd) ? sshd : require("sshd", "openssh-server");
    }

    /** A PostgreSQL server tool ({@code initdb}, {@code postgres}, {@code pg_ctl}) of the newest installed major. */
    static Path postgres(String tool) {
        Optional<Path> found = Optional.empty();
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (DirectoryStream<Path> majors = Files.newDirectoryStream(root)) {
                List<Path> tools = new ArrayList<>();
                majors.forEach(major -> tools.add(major.resolve("bin").resolve(tool)));
                found = tools.stream().filter(Files::isExecutable).max(Comparator.comparingInt(Binaries::majorVersion));
            } catch (IOException e) {
                fail("cannot list " + root, e);
            }
        }
        return found.orElseGet(() -> require(tool, "postgresql"));
    }

    private static int majorVersion(Path tool) {
        String major = tool.getParent().getParent().getFileName().toString();
        return major.matches("\\d+") ? Integer.parseInt(major) : -1;
    }

    private static Path missing(String name, String debianPackage) {
        boolean ci = "true".equals(System.getenv("CI"));
        return fail(
                "%s not found on the PATH: install the Debian package %s (.ci/run does)%s; end-to-end tests never skip",
                name, debianPackage, ci ? " — this is CI, so the CI setup is broken" : "");
    }
}
