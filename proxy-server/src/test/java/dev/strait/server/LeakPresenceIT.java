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
 * Leak detection that does not depend on when the garbage collector runs: the relay paths
 * ({@link LeakPresenceScenarios}: echo, resets from either side, an unserved client, an idle close, on every transport
 * and splice mode) in a JVM whose leak detector is Netty 4.2's {@code LeakPresenceDetector}, which counts every
 * buffer not yet released; once the proxy has stopped that count must be zero. The same run with one buffer leaked on
 * purpose must fail, which proves the check can fail. (The in-JVM suites keep paranoid detection with a forced
 * collection per class, {@code LeakCheckExtension}; this is the deterministic complement.)
 */
class LeakPresenceIT {
    @Test
    void noBufferIsLeftOnceTheProxyStops() throws Exception {
        String output = run("clean");
        assertThat(output).contains("PASS no buffer left once the proxy stopped");
    }

    @Test
    void aPlantedLeakFailsTheCheck() throws Exception {
        String output = run("plant");
        assertThat(output).contains("LEAK PRESENT: Possible memory leak detected");
    }

    private static String run(String mode) throws Exception {
        Path out = Files.createDirectories(Path.of("target", "leak-presence")).resolve(mode + ".log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dio.netty.customResourceLeakDetector=io.netty.util.LeakPresenceDetector",
                "-Dio.netty.leakDetection.level=paranoid",
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                LeakPresenceScenarios.class.getName(),
                mode));
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
                .as("exit code (0: no buffer left, 3: buffers left):%n%s", output)
                .isEqualTo(mode.equals("plant") ? 3 : 0);
        return output;
    }
}
