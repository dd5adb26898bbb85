package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.RouteProtocol;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteMetrics.SniOutcome;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestRoutes;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many PostgreSQL databases on one port: two PostgreSQL clusters behind one Strait route with {@code protocol:
 * postgres} and {@code sni}, each with its own certificate from one test CA. {@code psql} with {@code
 * sslmode=verify-full} reaches cluster 1 as {@code db1.test} and cluster 2 as {@code db2.test} (libpq sends the SNI
 * from {@code host}); a plaintext client and a CancelRequest go to the default (cluster 1); an SSLRequest followed by
 * injected bytes is closed. {@code SHOW port} tells the clusters apart.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PostgresSniIT {
    private static final Duration TOOL = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    @TempDir
    static Path pg1; // a directory of its own: under root, it is handed to the postgres user

    @TempDir
    static Path pg2;

    private static PostgresServer cluster1;
    private static PostgresServer cluster2;
    private static Path ca;

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension();

    private int port;

    @BeforeAll
    static void startTwoClusters() throws Exception {
        String openssl = Binaries.require("openssl", "openssl").toString();
        ca = dir.resolve("ca.crt");
        Path caKey = dir.resolve("ca.key");
        Command.runOk(
                TOOL,
                List.of(
                        openssl,
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-days",
                        "2",
                        "-subj",
                        "/CN=strait test CA",
                        "-keyout",
                        caKey.toString(),
                        "-out",
                        ca.toString()));
        cluster1 = cluster(openssl, caKey, "db1.test", pg1);
        cluster2 = cluster(openssl, caKey, "db2.test", pg2);
    }

    /** A cluster in {@code home} serving a certificate for {@code name} signed by the test CA. */
    private static PostgresServer cluster(String openssl, Path caKey, String name, Path home) throws Exception {
        Path key = home.resolve("server.key");
        Path csr = home.resolve("server.csr");
        Path cert = home.resolve("server.crt");
        Path ext = home.resolve("san.ext");
        Files.writeString(ext, "subjectAltName=DNS:" + name + "\n");
        Command.runOk(
                TOOL,
                List.of(
                        openssl,
                        "req",
                        "-new",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-subj",
                        "/CN=" + name,
                        "-keyout",
                        key.toString(),
                        "-out",
                        csr.toString()));
        Command.runOk(
                TOOL,
                List.of(
                        openssl,
                        "x509",
                        "-req",
                        "-in",
                        csr.toString(),
                        "-CA",
                        ca.toString(),
                        "-CAkey",
                        caKey.toString(),
                        "-CAcreateserial",
                        "-days",
                        "2",
                        "-extfile",
                        ext.toString(),
                        "-out",
                        cert.toString()));
        Command.runOk(TOOL, List.of("chmod", "600", key.toString()));
        return PostgresServer.start(
                home,
                Fixtures.logFile(PostgresSniIT.class, name),
                List.of("ssl_cert_file=" + cert, "ssl_key_file=" + key));
    }

    @AfterAll
    static void stopClusters() throws Exception {
        try {
            if (cluster2 != null) {
                cluster2.close();
            }
        } finally {
            if (cluster1 != null) {
                cluster1.close();
            }
        }
    }

    @BeforeEach
    void startStrait() throws Exception {
        proxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + cluster1.port())
                        .protocol(RouteProtocol.POSTGRES)
                        .sni(List.of(
                                SniRoutingIT.target("db1.test", cluster1.port()),
                                SniRoutingIT.target("db2.test", cluster2.port()))));
        port = proxy.address().getPort();
    }

    @Test
    void psqlWithVerifyFullReachesEachClusterByItsName() throws Exception {
        assertThat(psql("host=db1.test sslmode=verify-full", "SHOW port")).isEqualTo(cluster1.port() + "");
        assertThat(psql("host=db2.test sslmode=verify-full", "SHOW port")).isEqualTo(cluster2.port() + "");
        assertThat(psql(
                        "host=db2.test sslmode=verify-full",
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
                .as("TLS end to end, from psql to the cluster")
                .isEqualTo("t");
        assertThat(metrics().sniRoutedTotals())
                .containsEntry(new SniOutcome("db1.test", "matched"), 1L)
                .containsEntry(new SniOutcome("db2.test", "matched"), 2L);
    }

    @Test
    void worksWithGssencmodePrefer() throws Exception {
        assertThat(psql("host=db2.test sslmode=verify-full gssencmode=prefer", "SHOW port"))
                .isEqualTo(cluster2.port() + "");
    }

    @Test
    void aPlaintextClientFollowsTheDefault() throws Exception {
        assertThat(psql("host=127.0.0.1 sslmode=disable", "SHOW port")).isEqualTo(cluster1.port() + "");
        assertThat(metrics().sniRoutedTotals()).containsEntry(new SniOutcome("default", "plaintext"), 1L);
    }

    @Test
    void closesAnSslRequestFollowedByInjectedBytes() throws Exception {
        byte[] sslRequest = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};
        byte[] injected = {0, 0, 0, 9, 'Q', 'x', 0, 0, 0};
        byte[] both = new byte[sslRequest.length + injected.length];
        System.arraycopy(sslRequest, 0, both, 0, 8);
        System.arraycopy(injected, 0, both, 8, injected.length);
        try (Socket client = proxy.connect()) {
            client.getOutputStream().write(both);
            client.getOutputStream().flush();
            InputStream in = client.getInputStream();
            assertThat(in.read()).as("no 'S', just the close").isEqualTo(-1);
        }
        assertThat(metrics().sniRoutedTotals()).containsEntry(new SniOutcome("none", "protocol_error"), 1L);
    }

    @Test
    void aCancelRequestFromASecondConnectionReachesTheDefault() throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + port
                + "/postgres?user=postgres&sslmode=disable&connectTimeout=10&socketTimeout=120";
        try (Connection connection = DriverManager.getConnection(url);
                Statement statement = connection.createStatement()) {
            CompletableFuture<Void> sleeping = CompletableFuture.runAsync(() -> {
                try {
                    statement.execute("SELECT pg_sleep(60)");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            org.awaitility.Awaitility.await("the query running")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> psql(
                                    "host=db1.test sslmode=verify-full",
                                    "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")
                            .equals("1"));
            long started = System.nanoTime();
            statement.cancel(); // pgjdbc sends a CancelRequest on a new connection to the same host and port

            assertThatThrownBy(() -> sleeping.get(30, TimeUnit.SECONDS))
                    .hasRootCauseMessage("ERROR: canceling statement due to user request");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
        }
        assertThat(metrics().sniRoutedTotals()).containsEntry(new SniOutcome("default", "cancel"), 1L);
    }

    private RouteMetrics metrics() {
        return proxy.server().routeMetrics().get("test");
    }

    /** One query through Strait with psql; its one value. */
    private String psql(String connection, String query) throws Exception {
        Command.Result r = Command.run(
                TOOL,
                Map.of("PGCONNECT_TIMEOUT", "10"),
                List.of(
                        Binaries.require("psql", "postgresql-client").toString(),
                        "-X",
                        "--no-align",
                        "--tuples-only",
                        connection + " hostaddr=127.0.0.1 port=" + port + " user=postgres dbname=postgres"
                                + " sslrootcert=" + ca,
                        "-c",
                        query));
        assertThat(r.exitCode()).as("psql %s: %s", connection, r.output()).isZero();
        return r.output().strip();
    }
}
