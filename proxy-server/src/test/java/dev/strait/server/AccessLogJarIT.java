package dev.strait.server;

import static dev.strait.server.support.Clients.assertEchoes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access log of the packaged jar as operators meet it: on by default on stdout, a file that logrotate moves and
 * SIGHUP reopens, and a bad {@code accessLog} block refused at start with exit 2 and one line naming the key.
 */
class AccessLogJarIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void writesATextLinePerConnectionToStdoutByDefault() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait = StraitJar.start(
                        "access-log-stdout", "--listen", "127.0.0.1:0", "--backend", backend.address())) {
            int port = strait.awaitListening(1);
            int clientPort;
            try (Socket client = new Socket("127.0.0.1", port)) {
                clientPort = client.getLocalPort();
                assertEchoes(client, "hello");
            }

            strait.awaitLine(Pattern.compile(" event=close durationMs=\\d+ route=default client=127\\.0\\.0\\.1:"
                    + clientPort + " listener=127\\.0\\.0\\.1:" + port + " backend=" + Pattern.quote(backend.address())
                    + " backendLocal=127\\.0\\.0\\.1:\\d+ attempts=1 waitMs=\\d+ connectMs=\\d+ bytesFromClient=5"
                    + " bytesFromBackend=5 spliced=(true|false) cause=client_close closedFirst=client peer=127\\.0\\.0\\.1:"
                    + clientPort + " sni=- tlsProtocol=- tlsCipher=- clientSubject=-$"));
            strait.terminateAndAssertCleanExit();
        }
    }

    @Test
    void reopensItsFileOnSighupAfterLogrotateMovedIt() throws Exception {
        Path log = dir.resolve("access.log");
        Path rotated = dir.resolve("access.log.1");
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = dir.resolve("strait.yaml");
            Files.writeString(config, "accessLog: { format: json, target: " + log + " }\n" + route(backend));
            try (StraitJar strait = StraitJar.start("access-log-sighup", "--config", config.toString())) {
                int port = strait.awaitListening(1);
                assertThat(log).as("opened at start").exists();
                echo(port, "before");
                await().atMost(WAIT).until(() -> Files.readString(log).contains("\"bytesFromClient\":6"));

                Files.move(log, rotated);
                strait.signal("HUP");
                strait.awaitLine(Pattern.compile("reloaded .*strait\\.yaml \\(SIGHUP\\)"));
                echo(port, "after the rotation");

                await().atMost(WAIT)
                        .until(() -> Files.exists(log) && Files.readString(log).contains("\"bytesFromClient\":18"));
                assertThat(Files.readString(rotated))
                        .contains("\"bytesFromClient\":6")
                        .doesNotContain("\"bytesFromClient\":18");
                assertThat(strait.stdout())
                        .as("a file target keeps the lines out of the diagnostic log")
                        .doesNotContain("bytesFromClient");
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    @Test
    void refusesAnUnwritableFileAtStartWithExit2NamingTheKey() throws Exception {
        Path config = dir.resolve("strait.yaml");
        String target = dir.resolve("no/such/dir/access.log").toString();
        Files.writeString(config, "accessLog: { target: " + target + " }\n" + route(null));
        try (StraitJar strait = StraitJar.start("access-log-unwritable", "--config", config.toString())) {
            assertThat(strait.awaitExit()).isEqualTo(2);
            assertThat(strait.stderrLines()).singleElement().satisfies(line -> assertThat(line)
                    .startsWith("strait: invalid config: accessLog.target")
                    .contains(target));
        }
    }

    @Test
    void refusesAnUnknownFormatWithExit2NamingTheRouteKey() throws Exception {
        Path config = dir.resolve("strait.yaml");
        Files.writeString(config, route(null) + "    accessLog: { format: xml }\n");
        try (StraitJar strait = StraitJar.start("access-log-format", "--config", config.toString())) {
            assertThat(strait.awaitExit()).isEqualTo(2);
            assertThat(strait.stderrLines()).singleElement().satisfies(line -> assertThat(line)
                    .contains("routes[0].accessLog.format")
                    .contains("xml"));
        }
    }

    private static String route(LoopbackBackend backend) {
        return "routes:\n  - name: db\n    listen: 127.0.0.1:0\n    backends: ["
                + (backend == null ? "127.0.0.1:1" : backend.address()) + "]\n";
    }

    private static void echo(int port, String text) throws Exception {
        try (Socket client = new Socket("127.0.0.1", port)) {
            client.setSoTimeout(15_000);
            assertEchoes(client, text);
        }
    }
}
