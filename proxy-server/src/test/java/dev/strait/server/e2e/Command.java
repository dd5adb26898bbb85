package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a short-lived command to completion within a deadline and captures its combined output. */
final class Command {
    private static final File DEV_NULL = new File("/dev/null");

    record Result(List<String> command, int exitCode, String output) {}

    private Command() {}

    /** Runs {@code command}, killing it (and failing) if it outlives {@code timeout}. */
    static Result run(Duration timeout, Map<String, String> env, List<String> command)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile("strait-e2e-command", ".out");
        try {
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(DEV_NULL)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            builder.environment().putAll(env);
            Process process = builder.start();
            try {
                boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                assertThat(exited)
                        .as("%s finished within %s; output so far:%n%s", command, timeout, Files.readString(output))
                        .isTrue();
                return new Result(command, process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
            } finally {
                Daemon.destroyTree(process);
            }
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** Runs {@code command} and asserts that it exits 0; returns its output. */
    static String runOk(Duration timeout, List<String> command) throws IOException, InterruptedException {
        return runOk(timeout, Map.of(), command);
    }

    static String runOk(Duration timeout, Map<String, String> env, List<String> command)
            throws IOException, InterruptedException {
        Result result = run(timeout, env, command);
        assertThat(result.exitCode())
                .as("exit code of %s; output:%n%s", command, result.output())
                .isZero();
        return result.output();
    }
}
