package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Backends whose packets vanish (SYNs dropped, not refused; or every packet dropped mid-stream), made with iptables
 * in a private network namespace so the host's firewall is never touched. The checks themselves are in
 * {@link BlackHoleScenarios}, run by a child JVM inside {@code unshare --net} (a JVM cannot move its own sockets into
 * another namespace); each scenario prints one {@code PASS} line with its figures, and any failed assertion makes the
 * child exit non-zero with the assertion's message. Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), {@code unshare}
 * (util-linux), {@code ip} (iproute2) and {@code iptables}: a missing one fails the test, it never skips.
 */
class BlackHoleIT {
    @Test
    void blackHoledBackendsEndByTheirDocumentedDeadlines() throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "black-hole"));
        Path out = logs.resolve("scenarios.log");
        List<String> command = new ArrayList<>(List.of(
                "unshare",
                "--net",
                "sh",
                "-c",
                // a new namespace has only a loopback interface, and it is down
                "ip link set lo up && exec \"$@\"",
                "sh",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dio.netty.leakDetection.level=paranoid",
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                BlackHoleScenarios.class.getName()));
        Process child = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        boolean exited = child.waitFor(3, TimeUnit.MINUTES);
        if (!exited) {
            child.destroyForcibly();
        }
        String output = Files.readString(out, StandardCharsets.UTF_8);
        System.out.println(output);
        assertThat(exited).as("the scenarios end within 3 minutes:%n%s", output).isTrue();
        assertThat(child.exitValue())
                .as("exit code of the scenarios:%n%s", output)
                .isZero();
        assertThat(output.lines().filter(l -> l.startsWith("PASS ")))
                .as("every scenario passed:%n%s", output)
                .hasSize(BlackHoleScenarios.COUNT);
        assertThat(output).as("leak reports").doesNotContain("LEAK:");
        assertThat(output)
                .as("Netty's unhandled-exception warning")
                .doesNotContain("reached at the tail of the pipeline");
    }
}
