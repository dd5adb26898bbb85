package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.StraitJar;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/** PostgreSQL clients (JDBC and psql) talking to a real PostgreSQL server through Strait. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PostgresThroughStraitIT {
    private static final int ROWS = 100_000;
    private static final int COPY_LINE_LENGTH = 64;
    private static final long COPY_LINES = (64L << 20) / COPY_LINE_LENGTH;

    @TempDir
    static Path dir;

    private static PostgresServer postgres;
    private static StraitJar strait;
    private static int port;

    @BeforeAll
    static void startPostgresAndStrait() throws Exception {
        postgres = PostgresServer.start(dir, Fixtures.logFile(PostgresThroughStraitIT.class, "postgres"));
        strait = StraitJar.start(
                "PostgresThroughStraitIT",
                "--listen=127.0.0.1:0",
                "--backend=127.0.0.1:" + postgres.port(),
                "--admin=127.0.0.1:0");
        port = strait.awaitListening(1);
    }

    @AfterAll
    static void stopStraitThenPostgres() throws Exception {
        Fixtures.stopThenClose(
                strait,
                () -> {
                    try (Connection connection = throughStrait("sslmode=disable")) {
                        assertThat(selectInt(connection, "SELECT 1")).isEqualTo(1);
                    }
                },
                postgres);
    }

    @Test
    void runsDdlStatements() throws SQLException {
        try (Connection connection = throughStrait("sslmode=disable");
                Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE ddl_check (id bigint PRIMARY KEY)");
            statement.execute("ALTER TABLE ddl_check ADD COLUMN note text NOT NULL DEFAULT 'none'");
            statement.execute("CREATE INDEX ddl_check_note ON ddl_check (note)");

            assertThat(selectInt(
                            connection,
                            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ddl_check'"))
                    .isEqualTo(2);
            assertThat(selectInt(connection, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ddl_check_note'"))
                    .isEqualTo(1);

            statement.execute("DROP TABLE ddl_check");
            assertThat(selectInt(connection, "SELECT count(*) FROM pg_tables WHERE tablename = 'ddl_check'"))
                    .isZero();
        }
    }

    @Test
    void commitsAHundredThousandRowsInOneTransactionAndReadsThemBack() throws SQLException {
        try (Connection connection = throughStrait("sslmode=disable")) {
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE many_rows (id int PRIMARY KEY, payload text NOT NULL)");
            }
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO many_rows VALUES (?, ?)")) {
                for (int id = 0; id < ROWS; id++) {
                    insert.setInt(1, id);
                    insert.setString(2, payload(id));
                    insert.addBatch();
                    if (id % 10_000 == 9_999) {
                        insert.executeBatch();
                    }
                }
            }
            connection.commit();
        }

        // A second connection sees only what the first committed.
        try (Connection connection = throughStrait("sslmode=disable");
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("SELECT id, payload FROM many_rows ORDER BY id")) {
            int expectedId = 0;
            while (rows.next()) {
                if (rows.getInt(1) != expectedId || !rows.getString(2).equals(payload(expectedId))) {
                    assertThat(rows.getInt(1) + " " + rows.getString(2))
                            .isEqualTo(expectedId + " " + payload(expectedId));
                }
                expectedId++;
            }
            assertThat(expectedId).as("rows read back").isEqualTo(ROWS);
        }
    }

    @Test
    void copiesSixtyFourMebibytesInAndOutUnchanged() throws Exception {
        try (Connection connection = throughStrait("sslmode=disable");
                Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE copied_lines (line text NOT NULL)");
            CopyManager copy = connection.unwrap(PGConnection.class).getCopyAPI();

            MessageDigest sent = Bytes.sha256();
            long rowsIn;
            try (InputStream lines = new DigestInputStream(Bytes.lines(COPY_LINES, COPY_LINE_LENGTH, 42), sent)) {
                rowsIn = copy.copyIn("COPY copied_lines FROM STDIN", lines, 1 << 16);
            }
            assertThat(rowsIn).isEqualTo(COPY_LINES);

            // A synchronized scan may start mid-table, after another scan, and rotate the output.
            statement.execute("SET synchronize_seqscans = off");
            Bytes.Sink received = new Bytes.Sink();
            long rowsOut = copy.copyOut("COPY copied_lines TO STDOUT", received);

            assertThat(rowsOut).isEqualTo(COPY_LINES);
            Bytes.Digest got = received.digest();
            assertThat(got.count()).isEqualTo(COPY_LINES * COPY_LINE_LENGTH);
            assertThat(got.sha256()).isEqualTo(HexFormat.of().formatHex(sent.digest()));
            statement.execute("DROP TABLE copied_lines");
        }
    }

    @Test
    void answersAQueryThatRunsLongerThanEveryDefaultTimeout() throws SQLException {
        try (Connection connection = throughStrait("sslmode=disable")) {
            long started = System.nanoTime();
            // Twelve silent seconds in both directions: over twice the 5 s connect timeout, the only timeout
            // Strait has on by default (idle is 0, off), and past the 10 s a relay might be tempted to pick.
            try (Statement statement = connection.createStatement();
                    ResultSet result = statement.executeQuery("SELECT pg_sleep(12), 'awake'")) {
                assertThat(result.next()).isTrue();
                assertThat(result.getString(2)).isEqualTo("awake");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofSeconds(12));
            assertThat(selectInt(connection, "SELECT 42"))
                    .as("the same connection afterwards")
                    .isEqualTo(42);
        }
    }

    @Test
    void endsTheServerSessionWhenItsClientIsKilledMidQuery() throws Exception {
        try (Connection direct =
                DriverManager.getConnection(PostgresServer.jdbcUrl(postgres.port(), "sslmode=disable"))) {
            await("connections of earlier tests closed")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> strait.connectionCount() == 0);
            Path output = dir.resolve("victim.out");
            // client_connection_check_interval lets the backend notice a closed socket while pg_sleep runs,
            // instead of only when it finally writes the result.
            Process victim = new ProcessBuilder(
                            Binaries.require("psql", "postgresql-client").toString(),
                            "-X",
                            "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres sslmode=disable"
                                    + " application_name=strait-victim"
                                    + " options='-c client_connection_check_interval=1s'",
                            "-c",
                            "SELECT pg_sleep(60)")
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            try {
                await("the victim's query is running")
                        .atMost(Duration.ofSeconds(15))
                        .until(() -> victimSessions(direct, "active") == 1);
                assertThat(strait.connectionCount())
                        .as("connections Strait lists")
                        .isEqualTo(1);

                victim.destroyForcibly().waitFor();
            } finally {
                Daemon.destroyTree(victim);
            }

            await("the victim's server session is gone")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> victimSessions(direct, null) == 0);
            await("Strait no longer lists the victim's connection")
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> strait.connectionCount() == 0);
        }
    }

    @Test
    void runsSelectOneWithPsql() throws Exception {
        String output = Command.runOk(
                Duration.ofSeconds(30),
                List.of(
                        Binaries.require("psql", "postgresql-client").toString(),
                        "-X",
                        "--no-align",
                        "--tuples-only",
                        "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres",
                        "-c",
                        "select 1"));
        assertThat(output.strip()).isEqualTo("1");
    }

    @Test
    void carriesTlsFromClientToServerUntouchedWithSslmodeRequire() throws SQLException {
        String sslOfThisSession = "SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        try (Connection connection = throughStrait("sslmode=require")) {
            assertThat(selectInt(connection, sslOfThisSession))
                    .as("TLS with sslmode=require")
                    .isEqualTo(1);
        }
        try (Connection connection = throughStrait("sslmode=disable")) {
            assertThat(selectInt(connection, sslOfThisSession))
                    .as("TLS with sslmode=disable")
                    .isZero();
        }
    }

    private static Connection throughStrait(String parameters) throws SQLException {
        return DriverManager.getConnection(PostgresServer.jdbcUrl(port, parameters));
    }

    private static int selectInt(Connection connection, String query) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(query)) {
            assertThat(result.next()).as("a row from %s", query).isTrue();
            return result.getInt(1);
        }
    }

    /** How many sessions named strait-victim are in {@code state}, or in any state when it is null. */
    private static int victimSessions(Connection direct, String state) throws SQLException {
        try (PreparedStatement query =
                direct.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strait-victim'"
                        + " AND (?::text IS NULL OR state = ?::text)")) {
            query.setString(1, state);
            query.setString(2, state);
            try (ResultSet result = query.executeQuery()) {
                result.next();
                return result.getInt(1);
            }
        }
    }

    private static String payload(int id) {
        return "row " + id + " " + Integer.toHexString(id * 0x9E3779B1);
    }
}
