package dev.strait.server.e2e;

import dev.strait.server.support.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * A throwaway OpenSSH server on 127.0.0.1 with its own host key, accepting one generated client key for
 * the current OS user (root in CI, hence {@code PermitRootLogin prohibit-password}).
 *
 * <p>{@code sshd} must be started by absolute path; {@code -D -e} keeps it in the foreground logging to
 * stderr. {@code StrictModes no} because the key files live in a temporary directory.
 */
final class SshServer implements AutoCloseable {
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    private final Path clientKey;
    private final int port;
    private final Daemon sshd;

    private SshServer(Path clientKey, int port, Daemon sshd) {
        this.clientKey = clientKey;
        this.port = port;
        this.sshd = sshd;
    }

    static SshServer start(Path dir, Path log) throws IOException, InterruptedException {
        Path hostKey = dir.resolve("ssh_host_ed25519_key");
        Path clientKey = dir.resolve("id_ed25519");
        String keygen = Binaries.require("ssh-keygen", "openssh-client").toString();
        for (Path key : List.of(hostKey, clientKey)) {
            Command.runOk(TOOL_TIMEOUT, List.of(keygen, "-q", "-ted25519", "-N", "", "-Cstrait-e2e", "-f" + key));
        }
        Path authorizedKeys = dir.resolve("authorized_keys");
        Files.copy(dir.resolve("id_ed25519.pub"), authorizedKeys);
        if (Fixtures.runningAsRoot()) {
            // sshd running as root wants its privilege separation directory, which only a systemd unit creates.
            Path privsep = Path.of("/run/sshd");
            if (!Files.isDirectory(privsep)) {
                Files.createDirectories(privsep);
                Files.setPosixFilePermissions(privsep, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        int port = Ports.freePort();
        Path config = dir.resolve("sshd_config");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "Port " + port,
                        "ListenAddress 127.0.0.1",
                        "HostKey " + hostKey,
                        "PidFile " + dir.resolve("sshd.pid"),
                        "AuthorizedKeysFile " + authorizedKeys,
                        "PubkeyAuthentication yes",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "PermitRootLogin prohibit-password",
                        "StrictModes no",
                        "UsePAM no",
                        "Subsystem sftp internal-sftp",
                        ""));
        Daemon sshd = Daemon.start(
                "sshd",
                List.of(Binaries.sshd().toString(), "-D", "-e", "-f", config.toString()),
                dir,
                log,
                text -> text.contains("Server listening on 127.0.0.1 port " + port),
                Duration.ofSeconds(30));
        return new SshServer(clientKey, port, sshd);
    }

    int port() {
        return port;
    }

    /**
     * The options every client ({@code ssh}, {@code scp}) needs to log in with the generated key through
     * {@code port}, ignoring the user's own configuration and known hosts.
     */
    List<String> clientOptions(int port) {
        return List.of(
                "-F/dev/null",
                "-oPort=" + port,
                "-oIdentityFile=" + clientKey,
                "-oIdentitiesOnly=yes",
                "-oBatchMode=yes",
                "-oStrictHostKeyChecking=no",
                "-oUserKnownHostsFile=/dev/null",
                "-oLogLevel=ERROR",
                "-oConnectTimeout=10");
    }

    /** {@code user@127.0.0.1} for the user running the tests. */
    static String login() {
        return System.getProperty("user.name") + "@127.0.0.1";
    }

    @Override
    public void close() {
        sshd.close();
    }
}
