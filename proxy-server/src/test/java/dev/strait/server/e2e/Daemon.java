package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A long-running subprocess (a server) whose stdout and stderr go to a log file.
 *
 * <p>{@link #start} returns once the log satisfies a readiness condition, and fails with the log if the
 * process exits first. {@link #close} stops it with SIGTERM, then SIGKILL after a grace period; a JVM
 * shutdown hook does the same if the test JVM exits without closing it.
 */
final class Daemon implements AutoCloseable {
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);

    private final String name;
    private final Process process;
    private final Path log;
    private final Thread shutdownHook;

    private Daemon(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.shutdownHook = new Thread(() -> destroyTree(process), "kill-" + name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts {@code command} in {@code workDir}, logging to {@code log}, and waits until {@code ready}. */
    static Daemon start(
            String name, List<String> command, Path workDir, Path log, Predicate<String> ready, Duration timeout)
            throws IOException {
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectInput(new File("/dev/null"))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Daemon daemon = new Daemon(name, process, log);
        try {
            await(name + " ready")
                    .atMost(timeout)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> ready.test(daemon.logText()) || !process.isAlive());
            if (!ready.test(daemon.logText())) {
                fail(
                        "%s exited with %d before it was ready: %s%n%s",
                        name, process.exitValue(), command, daemon.logText());
            }
            return daemon;
        } catch (RuntimeException | AssertionError e) {
            daemon.close();
            throw e;
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends SIGTERM and waits up to {@code timeout} for the process to exit on its own; returns its exit
     * code, or kills it and returns empty if it did not exit in time.
     */
    OptionalInt terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!exited) {
            destroyTree(process);
            return OptionalInt.empty();
        }
        destroyTree(process);
        return OptionalInt.of(process.exitValue());
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                terminate(STOP_GRACE);
            }
        } catch (InterruptedException e) {
            destroyTree(process);
            Thread.currentThread().interrupt();
        } finally {
            destroyTree(process);
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down and the hook is running.
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ", log " + log + ")";
    }

    /** Kills {@code process} and everything it started, without waiting for a graceful exit. */
    static void destroyTree(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.onExit().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // Best effort: a process that ignores SIGKILL for 10 s is beyond our reach.
        }
    }
}
