package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged Strait jar running as a subprocess with paranoid leak detection, its output in a log file.
 *
 * <p>{@link #start} waits for the {@code listening on HOST:PORT -> ...} line (and the admin line when
 * {@code --admin} is given) and parses the ports that {@code :0} bound. {@link #stop} sends SIGTERM,
 * asserts a clean exit (code 0) and a clean log: no Netty {@code LEAK:} report and no {@code ERROR} line
 * other than the expected ones. Not thread-safe; one test class owns one instance.
 */
final class StraitProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+):(\\d+) ->");
    private static final Pattern ADMIN_LISTENING = Pattern.compile("admin listening on (\\S+):(\\d+)");
    private static final Pattern ERROR_LINE = Pattern.compile("\\bERROR\\b");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Daemon daemon;
    private final int port;
    private final OptionalInt adminPort;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private StraitProcess(Daemon daemon, int port, OptionalInt adminPort) {
        this.daemon = daemon;
        this.port = port;
        this.adminPort = adminPort;
    }

    /** One round trip through the proxy, made at teardown so a buffer leaked by earlier traffic gets reported. */
    @FunctionalInterface
    interface RoundTrip {
        void run() throws Exception;
    }

    /**
     * The teardown every end-to-end class shares: a garbage collection and one round trip so Netty reports any leaked
     * buffer, SIGTERM with exit 0 and no leak in the log, then the peer is closed — even when an earlier step failed.
     * Either argument may be null (its setup failed).
     */
    static void stopThenClose(StraitProcess strait, RoundTrip roundTrip, AutoCloseable peer) throws Exception {
        try {
            if (strait != null) {
                strait.collectGarbage();
                roundTrip.run();
                strait.stop();
            }
        } finally {
            try {
                if (strait != null) {
                    strait.close();
                }
            } finally {
                if (peer != null) {
                    peer.close();
                }
            }
        }
    }

    /**
     * Starts {@code java -jar proxy-server.jar ARGS} with its output in {@code log}. The jar is {@code
     * target/proxy-server.jar} under the working directory (the module directory under failsafe) unless the
     * {@code strait.jar} system property names another.
     */
    static StraitProcess start(Path log, String... args) throws IOException {
        Path jar = Path.of(System.getProperty("strait.jar", "target/proxy-server.jar"))
                .toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            fail("%s is missing: the package phase builds it before failsafe runs", jar);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dio.netty.leakDetection.level=paranoid",
                "-jar",
                jar.toString()));
        command.addAll(List.of(args));
        boolean admin = command.stream().anyMatch(arg -> arg.equals("--admin") || arg.startsWith("--admin="));
        Daemon daemon = Daemon.start(
                "strait",
                command,
                jar.getParent(),
                log,
                text -> LISTENING.matcher(text).find()
                        && (!admin || ADMIN_LISTENING.matcher(text).find()),
                START_TIMEOUT);
        String text = daemon.logText();
        Matcher listening = LISTENING.matcher(text);
        listening.find();
        OptionalInt adminPort = OptionalInt.empty();
        Matcher adminListening = ADMIN_LISTENING.matcher(text);
        if (adminListening.find()) {
            adminPort = OptionalInt.of(Integer.parseInt(adminListening.group(2)));
        }
        return new StraitProcess(daemon, Integer.parseInt(listening.group(2)), adminPort);
    }

    /** The port of the first listener. */
    int port() {
        return port;
    }

    int adminPort() {
        return adminPort.orElseThrow(() -> new IllegalStateException("Strait was started without --admin"));
    }

    /** The body of {@code GET /connections} on the admin endpoint. */
    String connections() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + "/connections"))
                .timeout(Duration.ofSeconds(5))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode())
                .as("GET /connections: %s", response.body())
                .isEqualTo(200);
        return response.body();
    }

    /** How many live connections {@code GET /connections} lists (a JSON list, bare or under "connections"). */
    int connectionCount() throws IOException, InterruptedException {
        String body = connections();
        JsonNode root = JSON.readTree(body);
        JsonNode list = root.isArray() ? root : root.path("connections");
        assertThat(list.isArray())
                .as("GET /connections returns a JSON list: %s", body)
                .isTrue();
        return list.size();
    }

    /**
     * Asks the proxy's JVM to collect garbage, so that buffers leaked so far become reportable: Netty logs
     * a leak on the next allocation after the leaked buffer is collected, so send some traffic afterwards.
     */
    void collectGarbage() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (Files.isExecutable(jcmd)) {
            Command.runOk(Duration.ofSeconds(30), List.of(jcmd.toString(), Long.toString(daemon.pid()), "GC.run"));
        }
    }

    /**
     * Stops the proxy with SIGTERM and asserts that it drained and exited 0, that Netty reported no leak,
     * and that it logged no ERROR line except those matching {@code expectedErrors}.
     */
    void stop(Pattern... expectedErrors) throws InterruptedException {
        OptionalInt exitCode = daemon.terminate(DRAIN_TIMEOUT);
        String log = daemon.logText();
        assertThat(exitCode)
                .as("Strait exits by itself within %s of SIGTERM (%s):%n%s", DRAIN_TIMEOUT, daemon, log)
                .isPresent();
        assertThat(exitCode.getAsInt())
                .as("Strait's exit code after SIGTERM (%s):%n%s", daemon, log)
                .isZero();
        assertThat(log).as("Netty leak reports in %s", daemon).doesNotContain("LEAK:");
        List<String> unexpectedErrors = log.lines()
                .filter(line -> ERROR_LINE.matcher(line).find())
                .filter(line -> List.of(expectedErrors).stream()
                        .noneMatch(expected -> expected.matcher(line).find()))
                .toList();
        assertThat(unexpectedErrors).as("unexpected ERROR lines in %s", daemon).isEmpty();
    }

    /** Kills the proxy if {@link #stop} did not run or did not finish; safe to call more than once. */
    @Override
    public void close() {
        daemon.close();
    }
}
