package dev.strait.server.e2e;

import dev.strait.server.support.Ports;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1: {@code initdb} into a temporary directory, TLS on with a
 * self-signed certificate, trust authentication for user {@code postgres}, no Unix socket.
 *
 * <p>PostgreSQL refuses to run as root, so under root the directory is handed to the {@code postgres} OS
 * user and every server tool runs as that user through {@code setpriv}, which execs in place: the
 * process this class holds is the postmaster itself.
 */
final class PostgresServer implements AutoCloseable {
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);
    private static final List<String> SETTINGS = List.of(
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            "ssl=on",
            // A throwaway cluster: durability only slows the bulk tests down.
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_wal_size=1GB");

    private final Path dataDir;
    private final int port;
    private final Daemon postmaster;

    private PostgresServer(Path dataDir, int port, Daemon postmaster) {
        this.dataDir = dataDir;
        this.port = port;
        this.postmaster = postmaster;
    }

    static PostgresServer start(Path dir, Path log) throws IOException, InterruptedException {
        return start(dir, log, List.of());
    }

    /** As {@link #start(Path, Path)}, with more {@code name=value} settings, such as {@code log_connections=on}. */
    static PostgresServer start(Path dir, Path log, List<String> extraSettings)
            throws IOException, InterruptedException {
        if (Fixtures.runningAsRoot()) {
            Command.runOk(TOOL_TIMEOUT, List.of("chown", "-R", "postgres:postgres", dir.toString()));
        }
        Path data = dir.resolve("data");
        Command.runOk(
                TOOL_TIMEOUT,
                asPostgres(
                        Binaries.postgres("initdb"),
                        "--pgdata=" + data,
                        "--username=postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--no-sync"));
        Path key = data.resolve("server.key");
        List<String> selfSigned =
                new ArrayList<>(List.of("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1".split(" ")));
        selfSigned.addAll(List.of(
                "-keyout", key.toString(), "-out", data.resolve("server.crt").toString()));
        Command.runOk(
                TOOL_TIMEOUT, asPostgres(Binaries.require("openssl", "openssl"), selfSigned.toArray(String[]::new)));
        Command.runOk(TOOL_TIMEOUT, List.of("chmod", "600", key.toString()));

        int port = Ports.freePort();
        List<String> options = new ArrayList<>(List.of("-D", data.toString(), "--port=" + port));
        SETTINGS.forEach(setting -> options.add("--" + setting));
        extraSettings.forEach(setting -> options.add("--" + setting));
        Daemon postmaster = Daemon.start(
                "postgres",
                asPostgres(Binaries.postgres("postgres"), options.toArray(String[]::new)),
                dir,
                log,
                text -> text.contains("database system is ready to accept connections"),
                Duration.ofSeconds(60));
        return new PostgresServer(data, port, postmaster);
    }

    int port() {
        return port;
    }

    /** Everything the server has logged so far. */
    String logText() {
        return postmaster.logText();
    }

    /** A JDBC URL for user postgres on {@code 127.0.0.1:port}, with the given extra parameters. */
    static String jdbcUrl(int port, String parameters) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres&connectTimeout=10&socketTimeout=120&"
                + parameters;
    }

    /** Stops the cluster with a fast shutdown, which ends any session still open. */
    @Override
    public void close() throws IOException {
        try {
            if (postmaster.isAlive()) {
                Command.run(
                        TOOL_TIMEOUT,
                        Map.of(),
                        asPostgres(
                                Binaries.postgres("pg_ctl"), "stop", "--pgdata=" + dataDir, "--mode=fast", "--wait"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            postmaster.close();
        }
    }

    /** {@code tool arguments...}, run as the postgres OS user when we are root. */
    private static List<String> asPostgres(Path tool, String... arguments) {
        List<String> command = new ArrayList<>();
        if (Fixtures.runningAsRoot()) {
            command.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"));
        }
        command.add(tool.toString());
        command.addAll(List.of(arguments));
        return command;
    }
}
