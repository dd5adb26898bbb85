package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.StraitJar;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** OpenSSH's {@code ssh} and {@code scp} talking to a real {@code sshd} through Strait. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SshThroughStraitIT {
    private static final long FILE_SIZE = 256L << 20;
    private static final Duration SCP_TIMEOUT = Duration.ofMinutes(2);
    private static final Pattern TERMINAL_ESCAPES = Pattern.compile("\u001B\\[[0-9;?]*[A-Za-z]");

    @TempDir
    static Path dir;

    private static SshServer sshd;
    private static StraitJar strait;
    private static int port;

    @BeforeAll
    static void startSshdAndStrait() throws Exception {
        sshd = SshServer.start(dir, Fixtures.logFile(SshThroughStraitIT.class, "sshd"));
        strait = StraitJar.start("SshThroughStraitIT", "--listen=127.0.0.1:0", "--backend=127.0.0.1:" + sshd.port());
        port = strait.awaitListening(1);
    }

    @AfterAll
    static void stopStraitThenSshd() throws Exception {
        Fixtures.stopThenClose(strait, () -> assertThat(ssh("true")).isEmpty(), sshd);
    }

    @Test
    void runsARemoteCommand() throws Exception {
        assertThat(ssh("echo hello")).isEqualTo("hello\n");
    }

    @Test
    void uploadsAQuarterGibibyteWithScpUnchanged() throws Exception {
        Path local = dir.resolve("upload-source.bin");
        Path remote = dir.resolve("upload-target.bin");
        try {
            String sent = Bytes.writeFile(local, FILE_SIZE, 1);
            scp(local.toString(), SshServer.login() + ":" + remote);
            assertThat(Files.size(remote)).isEqualTo(FILE_SIZE);
            assertThat(Bytes.sha256Of(remote)).isEqualTo(sent);
        } finally {
            Files.deleteIfExists(local);
            Files.deleteIfExists(remote);
        }
    }

    @Test
    void downloadsAQuarterGibibyteWithScpUnchanged() throws Exception {
        Path remote = dir.resolve("download-source.bin");
        Path local = dir.resolve("download-target.bin");
        try {
            String sent = Bytes.writeFile(remote, FILE_SIZE, 2);
            scp(SshServer.login() + ":" + remote, local.toString());
            assertThat(Files.size(local)).isEqualTo(FILE_SIZE);
            assertThat(Bytes.sha256Of(local)).isEqualTo(sent);
        } finally {
            Files.deleteIfExists(remote);
            Files.deleteIfExists(local);
        }
    }

    @Test
    void keepsAnIdleInteractiveSessionUsable() throws Exception {
        Path output = dir.resolve("interactive.out");
        List<String> command = new ArrayList<>(
                List.of(Binaries.require("ssh", "openssh-client").toString(), "-tt"));
        command.addAll(sshd.clientOptions(port));
        command.add(SshServer.login());
        Process session = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try (OutputStream keyboard = session.getOutputStream()) {
            // The terminal echoes what we type, so ask for output that differs from the command line.
            type(keyboard, "echo session-$((40 + 2))-up");
            await("the shell answers").atMost(Duration.ofSeconds(20)).until(() -> screenLines(output)
                    .contains("session-42-up"));

            // Twelve silent seconds: over twice the 5 s connect timeout, the only timeout Strait has on by
            // default (idle is 0, off), and past the 10 s a relay might be tempted to pick.
            await("an idle session stays up")
                    .during(Duration.ofSeconds(12))
                    .atMost(Duration.ofSeconds(15))
                    .until(session::isAlive);

            type(keyboard, "echo still-here");
            await("the shell still answers").atMost(Duration.ofSeconds(20)).until(() -> screenLines(output)
                    .contains("still-here"));

            type(keyboard, "exit");
            assertThat(session.waitFor(20, TimeUnit.SECONDS))
                    .as("ssh exits after the shell does")
                    .isTrue();
            assertThat(session.exitValue()).isZero();
        } finally {
            Daemon.destroyTree(session);
        }
    }

    private static void type(OutputStream keyboard, String line) throws IOException {
        keyboard.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
    }

    /** The terminal output as lines, without carriage returns and escape sequences (prompts, paste mode). */
    private static List<String> screenLines(Path output) throws IOException {
        String screen = TERMINAL_ESCAPES
                .matcher(Files.readString(output, StandardCharsets.UTF_8))
                .replaceAll("");
        return List.of(screen.split("\r?\n|\r"));
    }

    private static String ssh(String remoteCommand) throws Exception {
        List<String> command = new ArrayList<>(
                List.of(Binaries.require("ssh", "openssh-client").toString()));
        command.addAll(sshd.clientOptions(port));
        command.addAll(List.of(SshServer.login(), remoteCommand));
        return Command.runOk(Duration.ofSeconds(30), command);
    }

    private static void scp(String from, String to) throws Exception {
        List<String> command = new ArrayList<>(
                List.of(Binaries.require("scp", "openssh-client").toString(), "-q"));
        command.addAll(sshd.clientOptions(port));
        command.addAll(List.of(from, to));
        Command.runOk(SCP_TIMEOUT, command);
    }
}
