package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.strait.config.BackendTls;
import dev.strait.config.ClientAuth;
import dev.strait.config.HealthCheck;
import dev.strait.config.HealthCheckType;
import dev.strait.config.PostgresLogin;
import dev.strait.config.RouteProtocol;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.config.TransportKind;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteMetrics.SniOutcome;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import dev.strait.server.support.TestRoutes;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * PostgreSQL's TLS terminated by Strait ({@code protocol: postgres} with {@code tls}), against real PostgreSQL 15
 * clusters: one with {@code ssl=off}, one with TLS on and a certificate for {@code db.internal} from the test CA.
 * Clients: psql (libpq, SSLRequest) with {@code verify-full} as {@code db.test}, pgjdbc with {@code
 * sslNegotiation=direct}, and raw sockets for the preamble's edge cases.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PostgresTlsTerminationIT {
    private static final Duration TOOL = Duration.ofSeconds(60);
    private static final byte[] SSL_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};
    private static final byte[] GSSENC_REQUEST = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x30};

    @TempDir
    static Path dir;

    @TempDir
    static Path plainHome; // directories of their own: under root, they are handed to the postgres user

    @TempDir
    static Path tlsHome;

    private static TestPki pki;
    private static Issued front; // what Strait shows clients: db.test
    private static Issued other; // and other.test, on the route that routes by the negotiated name
    private static PostgresServer plain; // ssl=off
    private static PostgresServer withTls; // ssl=on, db.internal

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension();

    @BeforeAll
    static void startClusters() throws Exception {
        Binaries.require("openssl", "openssl");
        pki = TestPki.create(dir, "ca");
        front = pki.issue("front", "db.test", KeyForm.PKCS8_EC, "db.test");
        other = pki.issue("other", "other.test", KeyForm.PKCS1_RSA, "other.test");
        Issued internal = pki.issue("internal", "db.internal", KeyForm.PKCS8_EC, "db.internal");
        plain = PostgresServer.start(
                plainHome, Fixtures.logFile(PostgresTlsTerminationIT.class, "plain"), List.of("ssl=off"));
        Path cert = Files.copy(internal.cert(), tlsHome.resolve("internal.crt"));
        Path key = Files.copy(internal.key(), tlsHome.resolve("internal.key"));
        Command.runOk(TOOL, List.of("chmod", "600", key.toString()));
        withTls = PostgresServer.start(
                tlsHome,
                Fixtures.logFile(PostgresTlsTerminationIT.class, "tls"),
                List.of("ssl_cert_file=" + cert, "ssl_key_file=" + key));
    }

    @AfterAll
    static void stopClusters() throws Exception {
        try {
            if (withTls != null) {
                withTls.close();
            }
        } finally {
            if (plain != null) {
                plain.close();
            }
        }
    }

    @Test
    void psqlWithVerifyFullReachesAPlaintextPostgres() throws Exception {
        start(plain, Optional.empty());

        String out = psql("host=db.test sslmode=verify-full", "SHOW ssl", "\\conninfo");

        assertThat(out.lines().findFirst()).as("the backend hop is plaintext").contains("off");
        assertThat(out).as("the client hop is TLS").contains("SSL connection (protocol: TLSv1.3");
        assertThat(psql("host=db.test sslmode=verify-full", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
                .isEqualTo("f");
    }

    @Test
    void pgjdbcWithDirectTlsNegotiatesAlpnPostgresql() throws Exception {
        start(plain, Optional.empty());
        String url = PostgresServer.jdbcUrl(
                proxy.address().getPort(), "sslmode=verify-ca&sslNegotiation=direct" + "&sslrootcert=" + pki.caCert());

        try (Connection connection = DriverManager.getConnection(url);
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SHOW ssl")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("off");
            assertThat(proxy.server().liveConnections())
                    .singleElement()
                    .satisfies(c -> assertThat(c.tls().alpn()).isEqualTo("postgresql"));
        }
        assertThat(metrics().closedTotal(CloseCause.PROTOCOL_ERROR)).isZero();
    }

    @ParameterizedTest
    @EnumSource(
            value = TlsProvider.class,
            names = {"JDK", "OPENSSL"})
    void refusesDirectTlsWithoutAlpnPostgresqlAsPostgresqlDoes(TlsProvider provider) throws Exception {
        proxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + plain.port())
                        .protocol(RouteProtocol.POSTGRES)
                        .tls(new TlsConfig(
                                List.of(new TlsConfig.Certificate(front.cert(), front.key())),
                                List.of("TLSv1.3", "TLSv1.2"),
                                ClientAuth.NONE,
                                Optional.empty(),
                                List.of(), // postgresql, by default on a postgres route
                                Duration.ofSeconds(10),
                                provider,
                                false)));

        assertThat(startupOverDirectTls()).as("direct TLS, no ALPN").isEqualTo(-1);
        assertThat(startupOverDirectTls("http/1.1"))
                .as("direct TLS, ALPN without postgresql")
                .isEqualTo(-1);
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().closedTotal(CloseCause.TLS_ERROR) == 2);
        assertThat(metrics().tlsHandshakeFailuresTotal()).isEqualTo(2);
        assertThat(metrics().backendConnectFailuresTotal())
                .as("no backend was dialled for them")
                .isZero();

        assertThat(startupOverDirectTls("http/1.1", "postgresql"))
                .as("direct TLS with ALPN postgresql: authentication")
                .isEqualTo('R');
        assertThat(psql("host=db.test sslmode=verify-full", "SELECT 1"))
                .as("libpq 15's SSLRequest, without ALPN")
                .isEqualTo("1");
        assertThat(metrics().closedTotal(CloseCause.TLS_ERROR)).isEqualTo(2);
    }

    @Test
    void answersGssencRequestNThenSslRequestS() throws Exception {
        start(plain, Optional.empty());
        try (Socket raw = proxy.connect()) {
            raw.setSoTimeout(20_000);
            OutputStream out = raw.getOutputStream();
            InputStream in = raw.getInputStream();
            out.write(GSSENC_REQUEST);
            assertThat(in.read()).isEqualTo('N');
            out.write(SSL_REQUEST);
            assertThat(in.read()).isEqualTo('S');

            SSLSocket tls = (SSLSocket) TestPki.clientContext(pki.caCert(), null)
                    .getSocketFactory()
                    .createSocket(raw, "db.test", raw.getPort(), false);
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("db.test")));
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            tls.setSSLParameters(parameters);
            tls.startHandshake();
            tls.getOutputStream().write(startup("postgres", "postgres"));
            tls.getOutputStream().flush();
            DataInputStream answer = new DataInputStream(tls.getInputStream());
            assertThat((char) answer.readByte()).as("an authentication message").isEqualTo('R');
            assertThat(answer.readInt()).isEqualTo(8);
            assertThat(answer.readInt()).as("AuthenticationOk (trust)").isZero();
        }
    }

    @Test
    void closesAnSslRequestFollowedByInjectedBytes() throws Exception {
        start(plain, Optional.empty());
        byte[] injected = {0, 0, 0, 9, 'Q', 'x', 0, 0, 0};
        byte[] both = new byte[SSL_REQUEST.length + injected.length];
        System.arraycopy(SSL_REQUEST, 0, both, 0, 8);
        System.arraycopy(injected, 0, both, 8, injected.length);
        try (Socket client = proxy.connect()) {
            client.setSoTimeout(20_000);
            client.getOutputStream().write(both);
            assertThat(client.getInputStream().read())
                    .as("no 'S', just the close")
                    .isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().closedTotal(CloseCause.PROTOCOL_ERROR) == 1);
        assertThat(metrics().backendConnectFailuresTotal()).isZero();
    }

    @Test
    void refusesAPlaintextStartupWithPostgresqlsKindOfError() throws Exception {
        start(plain, Optional.empty());

        Command.Result r = psqlResult("host=127.0.0.1 sslmode=disable", "SELECT 1");

        assertThat(r.exitCode()).isNotZero();
        assertThat(r.output()).contains("FATAL:  TLS (SSL) is required: connect with sslmode=require or stronger");
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().closedTotal(CloseCause.TLS_REQUIRED) == 1);
    }

    @Test
    void aPlaintextCancelRequestReachesTheBackend() throws Exception {
        start(plain, Optional.empty());
        String url = PostgresServer.jdbcUrl(proxy.address().getPort(), "sslmode=verify-ca&sslrootcert=" + pki.caCert());
        try (Connection connection = DriverManager.getConnection(url);
                Statement statement = connection.createStatement()) {
            CompletableFuture<Void> sleeping = CompletableFuture.runAsync(() -> {
                try {
                    statement.execute("SELECT pg_sleep(60)");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            await("the query running").atMost(Duration.ofSeconds(30)).until(() -> psql(
                            "host=db.test sslmode=verify-full",
                            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")
                    .equals("1"));
            long started = System.nanoTime();
            statement.cancel(); // pgjdbc sends a plaintext CancelRequest on a new connection to the same host and port

            assertThatThrownBy(() -> sleeping.get(30, TimeUnit.SECONDS))
                    .hasRootCauseMessage("ERROR: canceling statement due to user request");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
        }
        assertThat(metrics().closedTotal(CloseCause.TLS_ERROR)).isZero();
    }

    @Test
    void backendTlsAsksTheBackendWithAnSslRequestFirst() throws Exception {
        start(withTls, Optional.of(backendTls()), Optional.of(postgresCheck()));
        await("the health check through SSLRequest and TLS")
                .atMost(Duration.ofSeconds(20))
                .until(() -> proxy.server().backends("test").get(0).lastCheck().isPresent());
        assertThat(proxy.server()
                        .backends("test")
                        .get(0)
                        .lastCheck()
                        .orElseThrow()
                        .reason())
                .isEqualTo("PostgreSQL: authentication ok");

        assertThat(psql("host=db.test sslmode=verify-full", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
                .as("TLS on the backend hop")
                .isEqualTo("t");
        assertThat(psql("host=db.test sslmode=verify-full", "\\conninfo"))
                .as("and on the client's")
                .contains("SSL connection (protocol: TLSv1.3");
    }

    @Test
    void aBackendThatAnswersNFailsTheAttempt() throws Exception {
        start(plain, Optional.of(backendTls()));

        Command.Result r = psqlResult("host=db.test sslmode=verify-full", "SELECT 1");

        assertThat(r.exitCode()).isNotZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().closedTotal(CloseCause.BACKEND_REJECTED) == 1);
        assertThat(metrics().backendConnectFailuresTotal()).isEqualTo(1);
    }

    @Test
    void sniWithTlsRoutesByTheNegotiatedName() throws Exception {
        proxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .backends("127.0.0.1:" + plain.port())
                        .protocol(RouteProtocol.POSTGRES)
                        .sni(List.of(SniRoutingIT.target("other.test", withTls.port())))
                        .tls(new TlsConfig(
                                List.of(
                                        new TlsConfig.Certificate(front.cert(), front.key()),
                                        new TlsConfig.Certificate(other.cert(), other.key())),
                                List.of("TLSv1.3", "TLSv1.2"),
                                ClientAuth.NONE,
                                Optional.empty(),
                                List.of(),
                                Duration.ofSeconds(10),
                                TlsProvider.AUTO,
                                false)));

        assertThat(psql("host=other.test sslmode=verify-full", "SHOW port"))
                .as("the sni target, its certificate verified")
                .isEqualTo(withTls.port() + "");
        assertThat(psql(
                        "host=other.test sslmode=verify-full",
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
                .as("terminated: plaintext on the backend hop")
                .isEqualTo("f");
        assertThat(psql("host=db.test sslmode=verify-full", "SHOW port"))
                .as("no match: the default backends")
                .isEqualTo(plain.port() + "");
        assertThat(metrics().sniRoutedTotals())
                .containsEntry(new SniOutcome("other.test", "matched"), 2L)
                .containsEntry(new SniOutcome("default", "no_match"), 1L);
    }

    @Test
    void aHealthCheckThroughTlsIsDownWhenTheBackendAnswersN() throws Exception {
        start(plain, Optional.of(backendTls()), Optional.of(postgresCheck()));

        await().atMost(Duration.ofSeconds(20))
                .until(() -> proxy.server().backends("test").get(0).lastCheck().isPresent());
        assertThat(proxy.server().backends("test").get(0).lastCheck().orElseThrow())
                .satisfies(c -> assertThat(c.up()).isFalse())
                .satisfies(c -> assertThat(c.reason()).contains("answered 'N' to SSLRequest"));
    }

    private static HealthCheck postgresCheck() {
        Duration interval = Duration.ofSeconds(2);
        return new HealthCheck(
                interval,
                interval,
                1,
                3,
                Optional.empty(),
                Optional.empty(),
                false,
                Optional.empty(),
                HealthCheckType.POSTGRES,
                Optional.empty(),
                Optional.empty(),
                PostgresLogin.DEFAULT,
                false);
    }

    private void start(PostgresServer backend, Optional<BackendTls> backendTls) throws Exception {
        start(backend, backendTls, Optional.empty());
    }

    private void start(PostgresServer backend, Optional<BackendTls> backendTls, Optional<HealthCheck> check)
            throws Exception {
        TestRoutes.Builder route = TestRoutes.route("test")
                .backends("127.0.0.1:" + backend.port())
                .protocol(RouteProtocol.POSTGRES)
                .tls(TlsConfig.of(front.cert(), front.key()));
        backendTls.ifPresent(route::backendTls);
        check.ifPresent(route::healthCheck);
        proxy.start(TransportKind.AUTO, route);
    }

    private static BackendTls backendTls() {
        return new BackendTls(
                true,
                Optional.of("db.internal"),
                true,
                Optional.of(pki.caCert()),
                Optional.empty(),
                Optional.empty(),
                List.of());
    }

    private RouteMetrics metrics() {
        return proxy.server().routeMetrics().get("test");
    }

    /**
     * Direct TLS to Strait (no SSLRequest) offering {@code alpn}, then a startup message: the first byte of the answer,
     * or -1 when Strait closed the connection instead.
     */
    private int startupOverDirectTls(String... alpn) throws Exception {
        try (SSLSocket tls = (SSLSocket) TestPki.clientContext(pki.caCert(), null)
                .getSocketFactory()
                .createSocket("127.0.0.1", proxy.address().getPort())) {
            tls.setSoTimeout(20_000);
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("db.test")));
            parameters.setApplicationProtocols(alpn);
            tls.setSSLParameters(parameters);
            try {
                tls.startHandshake();
                tls.getOutputStream().write(startup("postgres", "postgres"));
                tls.getOutputStream().flush();
                return tls.getInputStream().read();
            } catch (IOException closed) {
                return -1; // closed while writing: a reset after the proxy's close
            }
        }
    }

    /** PostgreSQL's StartupMessage, protocol 3.0. */
    private static byte[] startup(String user, String database) {
        byte[] body = ("user\0" + user + "\0database\0" + database + "\0\0").getBytes(StandardCharsets.UTF_8);
        byte[] message = new byte[8 + body.length];
        int length = message.length;
        message[0] = (byte) (length >>> 24);
        message[1] = (byte) (length >>> 16);
        message[2] = (byte) (length >>> 8);
        message[3] = (byte) length;
        message[5] = 3; // 3.0
        System.arraycopy(body, 0, message, 8, body.length);
        return message;
    }

    /** Queries through Strait with psql; the output, stripped. */
    private String psql(String connection, String... commands) throws Exception {
        Command.Result r = psqlResult(connection, commands);
        assertThat(r.exitCode()).as("psql %s: %s", connection, r.output()).isZero();
        return r.output().strip();
    }

    private Command.Result psqlResult(String connection, String... commands) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Binaries.require("psql", "postgresql-client").toString(),
                "-X",
                "--no-align",
                "--tuples-only",
                connection + " hostaddr=127.0.0.1 port=" + proxy.address().getPort()
                        + " user=postgres dbname=postgres sslrootcert=" + pki.caCert()));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        return Command.run(TOOL, Map.of("PGCONNECT_TIMEOUT", "10"), command);
    }
}
