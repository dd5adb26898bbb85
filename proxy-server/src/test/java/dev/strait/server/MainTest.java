package dev.strait.server;

import static dev.strait.server.support.Ports.freePort;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command line's exit codes and messages: 0 ok, 1 cannot start, 2 bad arguments or config, one line each. */
class MainTest {
    @TempDir
    Path dir;

    @Test
    void printsUsageForHelpAndExitsZero() {
        Result r = run("--help");

        assertThat(r.code).isZero();
        assertThat(r.out).contains("Usage: strait", "--listen", "--backend", "--config", "--check-config");
        assertThat(r.err).isEmpty();
    }

    @Test
    void printsTheVersionAndExitsZero() {
        Result r = run("--version");

        assertThat(r.code).isZero();
        assertThat(r.out)
                .matches("strait \\S+ \\(commit (\\p{XDigit}{12}|unknown), built \\d{4}-\\d\\d-\\d\\dT\\S+Z\\)\\R");
        assertThat(r.err).isEmpty();
    }

    @Test
    void rejectsAnUnknownOptionNamingIt() {
        Result r = run("--listne", "127.0.0.1:0");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--listne");
    }

    @Test
    void suggestsTheNearestOptionForAMistypedOneOnTheSameLine() {
        Result r = run("--listne", "127.0.0.1:0", "--backend", "127.0.0.1:5432");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).isEqualTo("strait: Unknown option: '--listne' (did you mean --listen?) (see --help)");
    }

    @Test
    void helpSaysHowTheFlagRouteSpreadsConnectionsOverItsBackends() {
        Result r = run("--help");

        assertThat(r.out.replaceAll("\\s+", " "))
                .contains("fewest live connections")
                .contains("a failed connect tries another")
                .doesNotContain("tried in order");
    }

    @Test
    void rejectsNoArgumentsAtAll() {
        Result r = run();

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--config");
    }

    @Test
    void rejectsListenWithoutBackend() {
        Result r = run("--listen", "127.0.0.1:0");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--backend");
    }

    @Test
    void rejectsWatchWithoutAConfigFile() {
        Result r = run("--watch", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:5432");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--watch").contains("--config");
    }

    @Test
    void rejectsBackendWithoutListen() {
        Result r = run("--backend", "127.0.0.1:5432");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--listen");
    }

    @Test
    void rejectsAnAddressWithoutPortNamingTheOptionAndTheValue() {
        Result r = run("--listen", "localhost", "--backend", "127.0.0.1:5432");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--listen", "\"localhost\"");
    }

    @Test
    void rejectsAPortOutOfRange() {
        Result r = run("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:70000");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--backend", "70000");
    }

    @Test
    void rejectsPortZeroForABackend() {
        Result r = run("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:0");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--backend", "127.0.0.1:0");
    }

    @Test
    void rejectsConfigTogetherWithListen() throws IOException {
        Path file = write("strait.yaml", validConfig(freePort()));

        Result r = run("--config", file.toString(), "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:5432");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--config", "--listen");
    }

    @Test
    void rejectsAnUnknownTransport() {
        Result r = run("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:5432", "--transport", "bogus");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--transport", "\"bogus\"");
    }

    @Test
    void checksAValidConfigWithoutBindingAnything() throws IOException {
        int port = freePort();
        Path file = write("strait.yaml", validConfig(port));

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isZero();
        assertThat(r.out).contains("config ok");
        assertThat(r.err).isEmpty();
        try (ServerSocket stillFree = new ServerSocket()) {
            stillFree.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }

    @Test
    void checksFlagsWithoutBindingAnything() throws IOException {
        int port = freePort();

        Result r = run("--check-config", "--listen", "127.0.0.1:" + port, "--backend", "127.0.0.1:5432");

        assertThat(r.code).isZero();
        assertThat(r.out).contains("config ok: 1 route(s)");
        try (ServerSocket stillFree = new ServerSocket()) {
            stillFree.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }

    @Test
    void checkConfigRejectsAnAdminAddressARouteListensOn() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                admin:
                  listen: 127.0.0.1:15432
                routes:
                  - listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5432]
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("admin.listen", "127.0.0.1:15432", "routes[0].listen");
    }

    @Test
    void checkConfigRejectsTheSamePortOnOverlappingAddresses() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 0.0.0.0:15432
                    backends: [127.0.0.1:5432]
                  - listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5433]
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("routes[1].listen", "127.0.0.1:15432", "routes[0].listen 0.0.0.0:15432");
    }

    @Test
    void checkConfigWarnsAboutABackendHostThatDoesNotResolveAndStillPasses() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 127.0.0.1:0
                    backends: [127.0.0.1:5432, db.strait-check.invalid:5432]
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isZero();
        assertThat(r.out)
                .contains("warning: routes[0].backends[1]: host \"db.strait-check.invalid\" does not resolve")
                .contains("config ok: 1 route(s)");
    }

    @Test
    void reportsAnInvalidConfigOnOneLineNamingTheKeyAndValue() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:5432
                    timeouts:
                      connect: 5 parsecs
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("routes[0].timeouts.connect", "\"5 parsecs\"");
        assertThat(r.out).isEmpty();
    }

    @Test
    void reportsAnHttpCheckBesideSendOnOneLineNamingTheKeyAndValue() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:5432
                    healthCheck:
                      port: 8008
                      http: { path: /primary }
                      send: "PING\\r\\n"
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("routes[0].healthCheck.send", "\"PING\\r\\n\"", "healthCheck.http");
        assertThat(r.out).isEmpty();
    }

    @Test
    void reportsAnUnknownKeyWithItsPath() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:5432
                    timeouts:
                      conect: 1s
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("routes[0].timeouts.conect", "unknown key");
    }

    @Test
    void reportsALowWaterMarkAboveTheHighOne() throws IOException {
        Path file = write(
                "strait.yaml",
                """
                routes:
                  - listen: 127.0.0.1:15432
                    backends:
                      - 127.0.0.1:5432
                    writeBufferWaterMark:
                      low: 128KiB
                      high: 64KiB
                """);

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("routes[0].writeBufferWaterMark.low", Integer.toString(128 * 1024));
    }

    @Test
    void reportsAYamlSyntaxErrorOnOneLine() throws IOException {
        Path file = write("strait.yaml", "routes:\n  - listen: [127.0.0.1:15432\n");

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains(file.toString(), "line");
    }

    @Test
    @Timeout(10)
    void rejectsAnOversizedConfigOnOneLineBeforeParsingIt() throws IOException {
        Path file = write("big.yaml", "a: " + "x".repeat(5 * 1024 * 1024 - 4) + "\n");

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine())
                .isEqualTo("strait: invalid config: --config: \"" + file
                        + "\" is 5242880 bytes; the limit is 1048576 bytes (1 MiB)");
    }

    @Test
    @Timeout(10)
    void rejectsAYamlBombOnOneLine() throws IOException {
        StringBuilder bomb = new StringBuilder("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 10; i++) {
            bomb.append("a%d: &a%d [%s]\n".formatted(i, i, String.join(", ", Collections.nCopies(9, "*a" + (i - 1)))));
        }
        Path file = write("bomb.yaml", bomb + "routes: *a9\n");

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains(file.toString(), "exceeds a YAML limit", "aliases", "max=50");
    }

    @Test
    void rejectsALatin1ConfigNamingTheOffsetOfTheFirstBadByte() throws IOException {
        Path file = Files.write(
                dir.resolve("latin1.yaml"), (validConfig(freePort()) + "# caf\u00e9\n").getBytes(ISO_8859_1));

        Result r = run("--check-config", "--config", file.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine())
                .contains(file.toString(), "not valid UTF-8", "byte 0xE9 at offset " + (Files.size(file) - 2));
    }

    @Test
    void reportsAMissingFileNamingIt() {
        Path missing = dir.resolve("nope.yaml");

        Result r = run("--config", missing.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains(missing.toString(), "no such file");
    }

    @Test
    void reportsADirectoryGivenAsConfigNamingIt() {
        Result r = run("--check-config", "--config", dir.toString());

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains(dir.toString());
    }

    @Test
    void exitsOneWhenTheListenPortIsInUse() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();

            Result r = run("--listen", "127.0.0.1:" + port, "--backend", "127.0.0.1:1");

            assertThat(r.code).isEqualTo(1);
            assertThat(r.errLine()).contains("cannot listen on 127.0.0.1:" + port);
        }
    }

    @Test
    void rejectsABadAdminAddress() {
        Result r = run("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:5432", "--admin", "9901");

        assertThat(r.code).isEqualTo(2);
        assertThat(r.errLine()).contains("--admin", "\"9901\"");
    }

    @Test
    void exitsOneAndReleasesTheRouteListenerWhenTheAdminPortIsInUse() throws IOException {
        int routePort = freePort();
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int adminPort = taken.getLocalPort();

            Result r = run(
                    "--listen",
                    "127.0.0.1:" + routePort,
                    "--backend",
                    "127.0.0.1:1",
                    "--admin",
                    "127.0.0.1:" + adminPort);

            assertThat(r.code).isEqualTo(1);
            assertThat(r.errLine()).contains("cannot listen on 127.0.0.1:" + adminPort);
        }
        try (ServerSocket released = new ServerSocket()) {
            released.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), routePort));
        }
    }

    private static String validConfig(int port) {
        return """
                shutdownTimeout: 10s
                routes:
                  - name: db
                    listen: 127.0.0.1:%d
                    backends:
                      - 127.0.0.1:5432
                """
                .formatted(port);
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    /** What one run printed and returned. */
    private record Result(int code, String out, String err) {
        /** The one line on stderr (no stack trace, no usage dump), which starts with the program name. */
        String errLine() {
            assertThat(err.lines().toList())
                    .as("stderr is exactly one line:%n%s", err)
                    .hasSize(1);
            assertThat(err).startsWith("strait: ");
            return err.strip();
        }
    }
}
