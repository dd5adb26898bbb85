package dev.strait.server.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The packaged jar run as users run it, with paranoid leak detection; stdout and stderr are kept under
 * {@code target/strait-jar/} for reading after a failed run. Failsafe's working directory is {@code proxy-server/}.
 */
public final class StraitJar implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) -> ");
    private static final Pattern ADMIN_LISTENING = Pattern.compile("admin listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern ERROR_LINE = Pattern.compile("\\bERROR\\b");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private StraitJar(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * Starts {@code java -jar target/proxy-server.jar ARGS}; {@code name} names its log files. A jar that serves routes
     * and names no admin endpoint gets one on port 0 for the leak check at exit ({@link #startAsGiven} does not).
     */
    public static StraitJar start(String name, String... args) throws IOException {
        return start(name, List.of(), args);
    }

    /** Starts the jar with exactly {@code args}: for a test about the admin endpoint's own configuration. */
    public static StraitJar startAsGiven(String name, String... args) throws IOException {
        return start(name, List.of(), false, args);
    }

    /**
     * Starts the jar with at most {@code maxDescriptors} open files ({@code prlimit --nofile}, soft and hard), as an
     * operator's {@code ulimit -n} would.
     */
    public static StraitJar startWithDescriptorLimit(String name, int maxDescriptors, String... args)
            throws IOException {
        return start(name, List.of("prlimit", "--nofile=" + maxDescriptors + ":" + maxDescriptors), args);
    }

    /** Starts the jar with {@code variable} removed from the environment it inherits ({@code env -u}). */
    public static StraitJar startWithout(String name, String variable, String... args) throws IOException {
        return start(name, List.of("env", "-u", variable), args);
    }

    private static StraitJar start(String name, List<String> wrapper, String... args) throws IOException {
        return start(name, wrapper, true, args);
    }

    private static StraitJar start(String name, List<String> wrapper, boolean leakCheckAdmin, String... args)
            throws IOException {
        Path jar = Path.of("target", "proxy-server.jar").toAbsolutePath();
        assertThat(jar)
                .as("the package phase builds the jar before failsafe runs")
                .isRegularFile();
        Path logs = Files.createDirectories(Path.of("target", "strait-jar"));
        Path out = logs.resolve(name + ".stdout.log");
        Path err = logs.resolve(name + ".stderr.log");
        List<String> command = new ArrayList<>(List.of(
                // The tests send SIGHUP: give it its default disposition even when the build runs under nohup, which
                // the child would inherit (and the JVM then leaves SIGHUP ignored).
                "env", "--default-signal=HUP"));
        command.addAll(wrapper);
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dio.netty.leakDetection.level=paranoid",
                "-jar",
                jar.toString()));
        command.addAll(List.of(args));
        if (leakCheckAdmin) {
            command.addAll(adminForLeakChecks(args));
        }
        Process process = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        return new StraitJar(process, out, err);
    }

    public Process process() {
        return process;
    }

    /** Waits for a complete stdout line in which the pattern is found, and returns the first such match. */
    public Matcher awaitStdout(Pattern pattern) throws IOException {
        awaitLine(pattern);
        Matcher m = pattern.matcher(lines(pattern).get(0));
        assertThat(m.find()).isTrue();
        return m;
    }

    /** Waits for the n-th "listening on 127.0.0.1:PORT" line and returns its port. */
    public int awaitListening(int n) throws IOException {
        withThreadDumpOnTimeout(() -> await().atMost(WAIT)
                .failFast("the process exited; see " + stdout.toAbsolutePath(), () -> !process.isAlive())
                .untilAsserted(() -> assertThat(lines(LISTENING))
                        .as("listening lines in%n%s", this)
                        .hasSizeGreaterThanOrEqualTo(n)));
        Matcher m = LISTENING.matcher(lines(LISTENING).get(n - 1));
        assertThat(m.find()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    /** Waits for the "admin listening on 127.0.0.1:PORT" line and returns its port. */
    public int awaitAdmin() throws IOException {
        return Integer.parseInt(awaitStdout(ADMIN_LISTENING).group(1));
    }

    /** How many live connections the admin endpoint's {@code GET /connections} lists. */
    public int connectionCount() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + awaitAdmin() + "/connections"))
                .timeout(Duration.ofSeconds(5))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode())
                .as("GET /connections: %s", response.body())
                .isEqualTo(200);
        JsonNode root = JSON.readTree(response.body());
        JsonNode list = root.isArray() ? root : root.path("connections");
        assertThat(list.isArray())
                .as("GET /connections returns a JSON list: %s", response.body())
                .isTrue();
        return list.size();
    }

    /**
     * Has the proxy's JVM collect garbage ({@code jcmd PID GC.run}), so buffers leaked so far become reportable: Netty
     * reports a leak on an allocation after the leaked buffer was collected, so send some traffic afterwards.
     */
    public void collectGarbage() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertThat(gc.waitFor(30, TimeUnit.SECONDS)).as("jcmd GC.run returns").isTrue();
        assertThat(gc.exitValue()).as("jcmd GC.run exit code").isZero();
    }

    /** Waits for a complete stdout line in which the pattern is found. */
    public void awaitLine(Pattern pattern) {
        withThreadDumpOnTimeout(() -> await().atMost(WAIT)
                .failFast(
                        "the process exited:\n" + this,
                        () -> !process.isAlive() && lines(pattern).isEmpty())
                .untilAsserted(() -> assertThat(lines(pattern))
                        .as("a line matching %s in%n%s", pattern, this)
                        .isNotEmpty()));
    }

    /**
     * Runs a wait; if it times out while the process lives, has the JVM print its threads (SIGQUIT) into the stdout
     * log first, so the failure shows where the process was stuck.
     */
    private void withThreadDumpOnTimeout(Runnable wait) {
        try {
            wait.run();
        } catch (ConditionTimeoutException timedOut) {
            if (process.isAlive()) {
                try {
                    signal("QUIT");
                    await().atMost(Duration.ofSeconds(10)).until(() -> stdout().contains("Full thread dump"));
                } catch (Exception | AssertionError dumpFailed) {
                    timedOut.addSuppressed(dumpFailed);
                }
                throw new AssertionError("timed out; threads in " + stdout.toAbsolutePath() + ":\n" + this, timedOut);
            }
            throw timedOut;
        }
    }

    /**
     * Waits for the config watcher's thread. Main starts it right after logging the listeners, and the watcher takes
     * the file's content as its baseline before that thread exists: a change made earlier would go unseen.
     */
    public void awaitFileWatcher() {
        // Linux gives each Java thread its name, cut to 15 characters.
        await().atMost(WAIT).until(() -> threadNames().contains("strait-config-w"));
    }

    private List<String> threadNames() throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    names.add(Files.readString(task.resolve("comm")).strip());
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return names;
    }

    /** Sends a signal with kill(1), e.g. "HUP" or "TERM". */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                .redirectErrorStream(true)
                .start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS))
                .as("kill -%s returns", name)
                .isTrue();
        assertThat(kill.exitValue()).as("kill -%s exit code", name).isZero();
    }

    /**
     * An admin endpoint on port 0 for a jar that serves routes and names none (by {@code --admin} or an {@code admin:}
     * key in its file), so {@link #terminateAndAssertCleanExit()} can make the proxy allocate after a collection.
     */
    private static List<String> adminForLeakChecks(String... args) throws IOException {
        List<String> given = List.of(args);
        if (given.contains("--admin")
                || given.contains("--check-config")
                || given.contains("--help")
                || given.contains("--version")) {
            return List.of();
        }
        int config = given.indexOf("--config");
        if (config >= 0 && config + 1 < args.length) {
            Path file = Path.of(args[config + 1]);
            if (!Files.isRegularFile(file) || Files.readString(file).contains("admin:")) {
                return List.of();
            }
        } else if (!given.contains("--listen")) {
            return List.of();
        }
        return List.of("--admin", "127.0.0.1:0");
    }

    /**
     * Makes any buffer leaked so far reportable: a full collection ({@code jcmd PID GC.run}; jcmd is part of the JDK
     * the tests run on, so it is never skipped), then two admin requests, whose allocations let Netty's paranoid
     * detector look at what was collected unreleased and print {@code LEAK:}.
     */
    public void collectGarbageAndReportLeaks() throws IOException, InterruptedException {
        collectGarbage();
        if (lines(ADMIN_LISTENING).isEmpty()) {
            return; // a jar started with a file whose admin: key is off: the collection alone must do
        }
        for (int i = 0; i < 2; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + awaitAdmin() + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build();
            assertThat(HTTP.send(request, HttpResponse.BodyHandlers.discarding())
                            .statusCode())
                    .as("GET /metrics after the collection")
                    .isEqualTo(200);
        }
    }

    /** A collection and allocations so a leak is reported ({@link #collectGarbageAndReportLeaks()}), SIGTERM, then:
     * exit 0, no Netty leak report, nothing on stderr. */
    public void terminateAndAssertCleanExit() throws Exception {
        if (process.isAlive()) {
            collectGarbageAndReportLeaks();
        }
        signal("TERM");
        assertThat(awaitExit()).as("exit code after SIGTERM:%n%s", this).isZero();
        assertThat(stdout()).as("stdout").doesNotContain("LEAK:");
        assertThat(stderr()).as("stderr").isEmpty();
    }

    /** {@link #terminateAndAssertCleanExit()}, and no ERROR line in stdout either. */
    public void terminateAndAssertQuietExit() throws Exception {
        terminateAndAssertCleanExit();
        assertThat(lines(ERROR_LINE)).as("ERROR lines in stdout").isEmpty();
    }

    /** Whether the process exited by itself within the time. */
    public boolean exited(Duration within) throws InterruptedException {
        return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits for the process to exit by itself and returns its exit code. */
    public int awaitExit() throws InterruptedException {
        assertThat(exited(WAIT)).as("exits by itself:%n%s", this).isTrue();
        return process.exitValue();
    }

    /** The complete stdout lines (a line still being written is left out) in which the pattern is found. */
    public List<String> lines(Pattern pattern) throws IOException {
        String all = text(stdout);
        int end = all.lastIndexOf('\n');
        return end < 0
                ? List.of()
                : all.substring(0, end)
                        .lines()
                        .filter(l -> pattern.matcher(l).find())
                        .toList();
    }

    public String stdout() throws IOException {
        return text(stdout);
    }

    public String stderr() throws IOException {
        return text(stderr);
    }

    public List<String> stderrLines() throws IOException {
        return stderr().lines().toList();
    }

    private static String text(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        try {
            return "--- stdout (" + stdout + "):\n" + text(stdout) + "\n--- stderr:\n" + text(stderr);
        } catch (IOException e) {
            return "(cannot read " + stdout + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
