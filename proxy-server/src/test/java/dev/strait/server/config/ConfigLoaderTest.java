package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.AccessLog;
import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.ConfigException;
import dev.strait.config.HealthCheck;
import dev.strait.config.HealthCheckType;
import dev.strait.config.HostAndPort;
import dev.strait.config.HttpCheck;
import dev.strait.config.PostgresLogin;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.RouteCapture;
import dev.strait.config.SpliceMode;
import dev.strait.config.TcpKeepalive;
import dev.strait.config.TransportKind;
import dev.strait.config.WaterMark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The YAML config file: every key, the defaults, environment expansion and one-line errors naming the key path. */
class ConfigLoaderTest {
    private static final String ONE_ROUTE =
            """
            routes:
              - listen: 127.0.0.1:15432
                backends:
                  - 127.0.0.1:5432
            """;

    @Test
    void mapsTheFullExampleToTheConfigRecords() {
        ProxyConfig config = parse(
                """
                transport: nio
                workers: 4
                shutdownTimeout: 45s
                admin:
                  listen: 127.0.0.1:9901
                routes:
                  - name: postgres
                    listen: 0.0.0.0:15432
                    backends:
                      - 10.0.0.1:5432
                      - 10.0.0.2:5432
                    timeouts:
                      connect: 250ms
                      idle: 30m
                    writeBufferWaterMark:
                      low: 64KiB
                      high: 1MiB
                  - name: redis
                    listen: "[::1]:16379"
                    backends: [10.0.0.3:6379]
                """);

        assertThat(config.transport()).isEqualTo(TransportKind.NIO);
        assertThat(config.workers()).isEqualTo(4);
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(config.admin()).contains(new HostAndPort("127.0.0.1", 9901));
        assertThat(config.routes()).extracting(Route::name).containsExactly("postgres", "redis");

        Route postgres = config.routes().get(0);
        assertThat(postgres.listen()).isEqualTo(new HostAndPort("0.0.0.0", 15432));
        assertThat(postgres.backends())
                .extracting(BackendSpec::address)
                .containsExactly(new HostAndPort("10.0.0.1", 5432), new HostAndPort("10.0.0.2", 5432));
        assertThat(postgres.timeouts().connect()).isEqualTo(Duration.ofMillis(250));
        assertThat(postgres.timeouts().idle()).isEqualTo(Duration.ofMinutes(30));
        assertThat(postgres.writeBufferWaterMark()).isEqualTo(new WaterMark(64 * 1024, 1024 * 1024));

        Route redis = config.routes().get(1);
        assertThat(redis.listen()).isEqualTo(new HostAndPort("::1", 16379));
        assertThat(redis.backends())
                .extracting(BackendSpec::address)
                .containsExactly(new HostAndPort("10.0.0.3", 6379));
    }

    @Test
    void fillsInTheDefaultsForOmittedKeys() {
        ProxyConfig config = parse(ONE_ROUTE);

        assertThat(config.transport()).isEqualTo(TransportKind.AUTO);
        assertThat(config.splice()).isEqualTo(SpliceMode.AUTO);
        assertThat(config.workers()).as("0 = one per core").isZero();
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.admin()).isEmpty();
        Route route = config.routes().get(0);
        assertThat(route.timeouts().connect()).isEqualTo(Duration.ofSeconds(5));
        assertThat(route.timeouts().idle()).as("0 = disabled").isZero();
        assertThat(route.writeBufferWaterMark()).isEqualTo(new WaterMark(32 * 1024, 64 * 1024));
    }

    @Test
    void keepsTheOtherDefaultWhenOnlyOneTimeoutIsGiven() {
        Route route = parse(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                            timeouts:
                              idle: 10m
                        """)
                .routes()
                .get(0);

        assertThat(route.timeouts().connect()).isEqualTo(Duration.ofSeconds(5));
        assertThat(route.timeouts().idle()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void expandsEnvironmentVariablesAndTheirDefaultsInValues() {
        ProxyConfig config = new ConfigLoader(Map.of("BACKEND_HOST", "10.1.2.3", "CONNECT", "2s", "WORKERS", ""))
                .parse(
                        """
                        workers: ${WORKERS:-3}
                        routes:
                          - listen: ${LISTEN_HOST:-127.0.0.1}:15432
                            backends:
                              - ${BACKEND_HOST}:${BACKEND_PORT:-5432}
                            timeouts:
                              connect: ${CONNECT}
                        """,
                        "test.yaml");

        assertThat(config.workers()).as("empty variable, default used").isEqualTo(3);
        Route route = config.routes().get(0);
        assertThat(route.listen()).as("unset variable, default used").isEqualTo(new HostAndPort("127.0.0.1", 15432));
        assertThat(route.backends())
                .extracting(BackendSpec::address)
                .containsExactly(new HostAndPort("10.1.2.3", 5432));
        assertThat(route.timeouts().connect()).as("set variable").isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void rejectsAnUnsetVariableWithoutADefaultNamingTheKeyAndTheVariable() {
        assertConfigError(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                            timeouts:
                              connect: ${CONNECT_TIMEOUT}
                        """,
                        "routes[0].timeouts.connect")
                .hasMessageContaining("CONNECT_TIMEOUT");
    }

    @Test
    void namesTheFullKeyPathOfABadValue() {
        assertConfigError(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                          - listen: 127.0.0.1:16379
                            backends:
                              - 127.0.0.1:6379
                            timeouts:
                              connect: soon
                        """,
                        "routes[1].timeouts.connect")
                .hasMessageContaining("\"soon\"");
    }

    @Test
    void namesTheKeyAndValueOfABadAddress() {
        assertConfigError(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                              - localhost
                        """,
                        "routes[0].backends[1]")
                .hasMessageContaining("\"localhost\"");
        assertConfigError(
                        """
                        admin:
                          listen: 127.0.0.1:99999
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                        """,
                        "admin.listen")
                .hasMessageContaining("99999");
    }

    @Test
    void namesTheSecondRouteWhenTwoRoutesShareAName() {
        assertConfigError(
                        """
                        routes:
                          - name: db
                            listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                          - name: db
                            listen: 127.0.0.1:15433
                            backends:
                              - 127.0.0.1:5433
                        """,
                        "routes[1].name")
                .hasMessageContaining("\"db\"");
    }

    @Test
    void rejectsABadTransportAndWorkerCount() {
        assertConfigError("transport: bogus\n" + ONE_ROUTE, "transport").hasMessageContaining("\"bogus\"");
        assertConfigError("splice: sometimes\n" + ONE_ROUTE, "splice").hasMessageContaining("\"sometimes\"");
        assertThat(parse("splice: off\n" + ONE_ROUTE).splice()).isEqualTo(SpliceMode.OFF);
        assertThat(parse("splice: always\n" + ONE_ROUTE).splice()).isEqualTo(SpliceMode.ALWAYS);
        assertConfigError("workers: many\n" + ONE_ROUTE, "workers").hasMessageContaining("\"many\"");
        assertConfigError("workers: -1\n" + ONE_ROUTE, "workers").hasMessageContaining("-1");
    }

    @Test
    void rejectsALowWaterMarkAboveTheHighOne() {
        assertConfigError(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                            writeBufferWaterMark:
                              low: 128KiB
                              high: 64KiB
                        """,
                        "routes[0].writeBufferWaterMark.low")
                .hasMessageContaining(Integer.toString(128 * 1024));
    }

    @Test
    void readsTcpKeepaliveWithItsDefaultsFromTheRouteAndTheDefaultsBlock() {
        assertThat(parse(ONE_ROUTE).routes().get(0).tcpKeepalive())
                .as("below the cloud load balancers' idle cut-offs")
                .isEqualTo(new TcpKeepalive(Duration.ofSeconds(60), Duration.ofSeconds(10), 3));

        ProxyConfig config = parse(
                """
                defaults:
                  tcpKeepalive: { idle: 2m, count: 5 }
                routes:
                  - name: inherits
                    listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5432]
                  - name: off
                    listen: 127.0.0.1:15433
                    backends: [127.0.0.1:5433]
                    tcpKeepalive: { idle: 0s, interval: 7s }
                """);

        assertThat(config.routes().get(0).tcpKeepalive())
                .isEqualTo(new TcpKeepalive(Duration.ofMinutes(2), Duration.ofSeconds(10), 5));
        TcpKeepalive off = config.routes().get(1).tcpKeepalive();
        assertThat(off).isEqualTo(new TcpKeepalive(Duration.ZERO, Duration.ofSeconds(7), 5));
        assertThat(off.enabled()).as("0s idle disables").isFalse();
    }

    @Test
    void readsTheAccessLogFromTheTopLevelWithEachRouteOverridingItKeyByKey() {
        assertThat(parse(ONE_ROUTE).routes().get(0).accessLog())
                .as("on, text, stdout, at close only")
                .isEqualTo(new AccessLog(true, AccessLog.Format.TEXT, "stdout", false, Duration.ZERO));

        ProxyConfig config = parse(
                """
                accessLog: { format: json, target: /var/log/strait/access.log, periodic: 1m }
                routes:
                  - name: inherits
                    listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5432]
                  - name: own
                    listen: 127.0.0.1:15433
                    backends: [127.0.0.1:5433]
                    accessLog: { onConnect: true, periodic: 0s }
                  - name: quiet
                    listen: 127.0.0.1:15434
                    backends: [127.0.0.1:5434]
                    accessLog: { enabled: false }
                """);

        assertThat(config.routes().get(0).accessLog())
                .isEqualTo(new AccessLog(
                        true, AccessLog.Format.JSON, "/var/log/strait/access.log", false, Duration.ofMinutes(1)));
        assertThat(config.routes().get(1).accessLog())
                .isEqualTo(
                        new AccessLog(true, AccessLog.Format.JSON, "/var/log/strait/access.log", true, Duration.ZERO));
        assertThat(config.routes().get(2).accessLog().enabled()).isFalse();
    }

    @Test
    void rejectsABadAccessLogNamingTheTopLevelOrTheRouteKey() {
        assertConfigError("accessLog: { format: xml }\n" + ONE_ROUTE, "accessLog.format")
                .hasMessageNotContaining("routes[")
                .hasMessageContaining("\"xml\"");
        assertConfigError(ONE_ROUTE + "    accessLog: { format: csv }\n", "routes[0].accessLog.format")
                .hasMessageContaining("\"csv\"");
        assertConfigError("accessLog: { periodic: 100ms }\n" + ONE_ROUTE, "accessLog.periodic")
                .hasMessageContaining("\"100ms\"");
        assertConfigError("accessLog: { enabled: yes please }\n" + ONE_ROUTE, "accessLog.enabled")
                .hasMessageContaining("true or false");
        assertConfigError("accessLog: { colour: blue }\n" + ONE_ROUTE, "accessLog.colour")
                .hasMessageContaining("unknown key");
    }

    @Test
    void rejectsKeepaliveTimesTheKernelCannotTakeNamingTheKeyAndValue() {
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { idle: 500ms }\n", "routes[0].tcpKeepalive.idle")
                .hasMessageContaining("\"500ms\"");
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { idle: 1.5s }\n", "routes[0].tcpKeepalive.idle")
                .hasMessageContaining("whole seconds");
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { interval: 0s }\n", "routes[0].tcpKeepalive.interval")
                .hasMessageContaining("\"0s\"");
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { count: 0 }\n", "routes[0].tcpKeepalive.count")
                .hasMessageContaining("\"0\" (1 to 127)");
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { count: 128 }\n", "routes[0].tcpKeepalive.count")
                .hasMessageContaining("\"128\"");
        assertConfigError(ONE_ROUTE + "    tcpKeepalive: { probes: 3 }\n", "routes[0].tcpKeepalive.probes")
                .hasMessageContaining("unknown key");
    }

    @Test
    void readsDeferAcceptOffByDefaultAsADurationOrOffAndInheritsItFromTheDefaultsBlock() {
        assertThat(parse(ONE_ROUTE).routes().get(0).deferAccept())
                .as("off by default")
                .isZero();

        ProxyConfig config = parse(
                """
                defaults:
                  deferAccept: 1s
                routes:
                  - name: inherits
                    listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5432]
                  - name: off
                    listen: 127.0.0.1:15433
                    backends: [127.0.0.1:5433]
                    deferAccept: off
                  - name: zero
                    listen: 127.0.0.1:15434
                    backends: [127.0.0.1:5434]
                    deferAccept: 0s
                  - name: fraction
                    listen: 127.0.0.1:15435
                    backends: [127.0.0.1:5435]
                    deferAccept: 1500ms
                """);

        assertThat(config.routes().get(0).deferAccept()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.routes().get(0).deferAcceptSeconds()).isEqualTo(1);
        assertThat(config.routes().get(1).defersAccept()).as("off").isFalse();
        assertThat(config.routes().get(2).defersAccept()).as("0s").isFalse();
        assertThat(config.routes().get(2).deferAcceptSeconds()).isZero();
        assertThat(config.routes().get(3).deferAcceptSeconds())
                .as("the kernel takes whole seconds: rounded up")
                .isEqualTo(2);
    }

    @Test
    void rejectsADeferAcceptThatIsNotADurationOrAboveAnHourNamingTheKeyAndValue() {
        assertConfigError(ONE_ROUTE + "    deferAccept: 2h\n", "routes[0].deferAccept")
                .hasMessageContaining("\"2h\"")
                .hasMessageContaining("0s (off) to 1h");
        assertConfigError(ONE_ROUTE + "    deferAccept: soon\n", "routes[0].deferAccept")
                .hasMessageContaining("\"soon\"");
        assertConfigError(ONE_ROUTE + "    deferAccept: on\n", "routes[0].deferAccept");
        assertThat(parse(ONE_ROUTE + "    deferAccept: 1h\n").routes().get(0).deferAcceptSeconds())
                .isEqualTo(3600);
    }

    @Test
    void readsARouteCaptureWithItsDefaultsAndACaptureDirectory(@TempDir Path dir) {
        assertThat(parse(ONE_ROUTE).routes().get(0).capture())
                .as("off by default")
                .isEmpty();
        assertThat(parse(ONE_ROUTE).captureDirectory())
                .as("the system's temp dir, decided by the server")
                .isEmpty();

        ProxyConfig config = parse("capture: { directory: \"" + dir + "\" }\n" + ONE_ROUTE
                + "    capture: { seconds: 10m, maxBytes: 64MiB, maxBytesPerConnection: 64KiB }\n");

        assertThat(config.captureDirectory()).contains(dir);
        assertThat(config.routes().get(0).capture())
                .contains(new RouteCapture(Duration.ofMinutes(10), 64L << 20, 64L << 10));
        assertThat(parse(ONE_ROUTE + "    capture: {}\n").routes().get(0).capture())
                .contains(new RouteCapture(Duration.ofSeconds(60), 1L << 20, 1L << 20));
    }

    @Test
    void rejectsBadCaptureValuesAndDirectoriesNamingTheKey(@TempDir Path dir) throws Exception {
        assertConfigError(ONE_ROUTE + "    capture: { seconds: 0s }\n", "routes[0].capture.seconds")
                .hasMessageContaining("1s to 24h");
        assertConfigError(ONE_ROUTE + "    capture: { maxBytes: 2GiB }\n", "routes[0].capture.maxBytes");
        assertConfigError(
                        ONE_ROUTE + "    capture: { maxBytes: 1KiB, maxBytesPerConnection: 2KiB }\n",
                        "routes[0].capture.maxBytesPerConnection")
                .hasMessageContaining("1 to maxBytes (1024)");
        assertConfigError(ONE_ROUTE + "    capture: { sconds: 1s }\n", "routes[0].capture.sconds")
                .hasMessageContaining("unknown key");
        Path file = Files.createFile(dir.resolve("not-a-directory"));
        assertConfigError("capture: { directory: \"" + file + "\" }\n" + ONE_ROUTE, "capture.directory")
                .hasMessageContaining("not a directory this process can write to");
        assertConfigError(
                "capture: { directory: \"" + dir.resolve("missing") + "\" }\n" + ONE_ROUTE, "capture.directory");
    }

    @Test
    void rejectsUnknownKeysNamingTheirPath() {
        assertConfigError("listen: 127.0.0.1:1\n" + ONE_ROUTE, "listen").hasMessageContaining("unknown key");
        assertConfigError(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends:
                              - 127.0.0.1:5432
                            timeouts:
                              conect: 1s
                        """,
                        "routes[0].timeouts.conect")
                .hasMessageContaining("unknown key");
    }

    @Test
    void routesInheritTheDefaultsBlockAndOverrideItKeyByKey() {
        ProxyConfig config = parse(
                """
                defaults:
                  balance: round-robin
                  retries: 5
                  timeouts: { connect: 2s, idle: 1h30m }
                  allow: [10.0.0.0/8]
                routes:
                  - name: inherits
                    listen: 127.0.0.1:15432
                    backends: [127.0.0.1:5432]
                  - name: overrides
                    listen: 127.0.0.1:15433
                    backends: [127.0.0.1:5433]
                    retries: 0
                    timeouts: { idle: 5m }
                    allow: [192.168.0.0/16]
                """);

        Route inherits = config.routes().get(0);
        Route overrides = config.routes().get(1);
        assertThat(inherits.balance()).isEqualTo(BalanceAlgorithm.ROUND_ROBIN);
        assertThat(inherits.retries()).isEqualTo(5);
        assertThat(inherits.timeouts().connect()).isEqualTo(Duration.ofSeconds(2));
        assertThat(inherits.timeouts().idle()).isEqualTo(Duration.ofMinutes(90));
        assertThat(inherits.access().allow()).hasToString("[10.0.0.0/8]");
        assertThat(overrides.balance()).isEqualTo(BalanceAlgorithm.ROUND_ROBIN);
        assertThat(overrides.retries()).isZero();
        assertThat(overrides.timeouts().connect()).as("merged key by key").isEqualTo(Duration.ofSeconds(2));
        assertThat(overrides.timeouts().idle()).isEqualTo(Duration.ofMinutes(5));
        assertThat(overrides.access().allow()).as("a list is replaced whole").hasToString("[192.168.0.0/16]");
    }

    @Test
    void rejectsANameOrAnUnknownKeyInTheDefaultsBlock() {
        assertConfigError("defaults:\n  name: shared\n" + ONE_ROUTE, "defaults.name")
                .hasMessageContaining("unknown key");
        assertConfigError("defaults:\n  timeout: 5s\n" + ONE_ROUTE, "defaults.timeout")
                .hasMessageContaining("unknown key");
    }

    @Test
    void expandsAnchorsAliasesAndMergeKeysWithTheMappingsOwnKeysWinning() {
        ProxyConfig config = parse(
                """
                x-timeouts: &slow { connect: 5s, idle: 2h }
                x-backends: &pg [10.0.0.1:5432, 10.0.0.2:5432]
                routes:
                  - name: a
                    listen: 127.0.0.1:15432
                    backends: *pg
                    timeouts:
                      idle: 10m
                      <<: *slow
                  - name: b
                    listen: 127.0.0.1:15433
                    backends: *pg
                    timeouts: *slow
                """);

        Route a = config.routes().get(0);
        Route b = config.routes().get(1);
        assertThat(a.backends())
                .extracting(spec -> spec.address().toString())
                .containsExactly("10.0.0.1:5432", "10.0.0.2:5432");
        assertThat(b.backends()).isEqualTo(a.backends());
        assertThat(a.timeouts().connect()).isEqualTo(Duration.ofSeconds(5));
        assertThat(a.timeouts().idle()).as("own key beats the merged one").isEqualTo(Duration.ofMinutes(10));
        assertThat(b.timeouts().idle()).isEqualTo(Duration.ofHours(2));
    }

    @Test
    void rejectsDuplicateKeys() {
        assertThatThrownBy(() -> parse("workers: 2\nworkers: 3\n" + ONE_ROUTE))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("test.yaml")
                .hasMessageContaining("workers");
        assertThatThrownBy(
                        () -> parse(
                                """
                        routes:
                          - listen: 127.0.0.1:15432
                            listen: 127.0.0.1:15433
                            backends:
                              - 127.0.0.1:5432
                        """))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listen");
    }

    @Test
    void rejectsRoutesThatAreNotAList() {
        assertConfigError(
                """
                routes:
                  listen: 127.0.0.1:15432
                  backends:
                    - 127.0.0.1:5432
                """,
                "routes");
        assertConfigError("routes: postgres\n", "routes");
        assertConfigError("routes: []\n", "routes");
        assertConfigError("workers: 2\n", "routes");
    }

    @Test
    void rejectsAnEmptyFile() {
        assertConfigError("", "routes").hasMessageContaining("test.yaml").hasMessageContaining("empty");
        assertConfigError("# nothing yet\n", "routes").hasMessageContaining("test.yaml");
    }

    @Test
    void reportsTheLineOfAYamlSyntaxError() {
        assertThatThrownBy(
                        () -> parse(
                                """
                        routes:
                          - listen: 127.0.0.1:15432
                            backends: [127.0.0.1:5432
                          - listen: 127.0.0.1:16379
                        """))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("test.yaml")
                .hasMessageContaining("not valid YAML")
                .hasMessageMatching("(?s).*\\(line [34]\\).*");
    }

    @Test
    void keepsEveryErrorOnOneLine() {
        assertThatThrownBy(() -> parse("routes:\n  - listen: [a\n"))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void readsAnHttpCheckOnItsOwnPortAsPatroniIsChecked() {
        HealthCheck check = healthCheckOf(
                """
                port: 8008
                http: { path: /primary, expectStatus: 200, host: patroni.internal }
                """);
        assertThat(check.port()).contains(8008);
        assertThat(check.http()).contains(new HttpCheck("/primary", 200, Optional.of("patroni.internal")));
        assertThat(check.type()).isEqualTo(HealthCheckType.TCP);
        assertThat(check.closeWithReset())
                .as("probes close with a FIN by default")
                .isFalse();
    }

    @Test
    void readsAnExpectContainsCheckAsRedisPrimariesAreChecked() {
        HealthCheck check = healthCheckOf(
                """
                send: 'INFO replication\\r\\n'
                expectContains: "role:master"
                """);
        assertThat(check.send()).contains("INFO replication\r\n");
        assertThat(check.expectContains()).contains("role:master");
        assertThat(check.http()).isEmpty();
    }

    @Test
    void readsAPostgresCheckWhoseDatabaseDefaultsToTheUser() {
        HealthCheck check = healthCheckOf(
                """
                type: postgres
                postgres: { user: monitor }
                closeWithReset: true
                """);
        assertThat(check.type()).isEqualTo(HealthCheckType.POSTGRES);
        assertThat(check.postgres()).isEqualTo(new PostgresLogin("monitor", "monitor"));
        assertThat(check.closeWithReset()).isTrue();
        assertThat(healthCheckOf("type: postgres\n").postgres())
                .as("the default login")
                .isEqualTo(new PostgresLogin("strait", "strait"));
    }

    @Test
    void rejectsAPortOutsideOneTo65535NamingTheKeyAndValue() {
        assertConfigError(withHealthCheck("port: 0"), "routes[0].healthCheck.port")
                .hasMessageContaining("\"0\"");
        assertConfigError(withHealthCheck("port: 65536"), "routes[0].healthCheck.port")
                .hasMessageContaining("\"65536\"");
    }

    @Test
    void rejectsAnExpectedStatusOutside100To599() {
        assertConfigError(withHealthCheck("http: { expectStatus: 99 }"), "routes[0].healthCheck.http.expectStatus")
                .hasMessageContaining("\"99\"");
        assertConfigError(withHealthCheck("http: { expectStatus: 600 }"), "routes[0].healthCheck.http.expectStatus")
                .hasMessageContaining("\"600\"");
    }

    @Test
    void rejectsAnHttpPathThatCouldSplitTheRequest() {
        assertConfigError(withHealthCheck("http: { path: '/a b' }"), "routes[0].healthCheck.http.path")
                .hasMessageContaining("\"/a b\"");
        assertConfigError(withHealthCheck("http: { path: primary }"), "routes[0].healthCheck.http.path");
    }

    @Test
    void rejectsSendOrExpectBesideAnHttpCheck() {
        assertConfigError(withHealthCheck("http: { path: /primary }\n    send: PING"), "routes[0].healthCheck.send")
                .hasMessageContaining("\"PING\"")
                .hasMessageContaining("healthCheck.http");
        assertConfigError(
                        withHealthCheck("http: { path: /primary }\n    expectContains: ok"),
                        "routes[0].healthCheck.expectContains")
                .hasMessageContaining("\"ok\"");
    }

    @Test
    void rejectsSendOrExpectOrHttpBesideAPostgresCheck() {
        assertConfigError(withHealthCheck("type: postgres\n    expect: R"), "routes[0].healthCheck.expect")
                .hasMessageContaining("\"R\"")
                .hasMessageContaining("postgres");
        assertConfigError(withHealthCheck("type: postgres\n    http: {}"), "routes[0].healthCheck.type")
                .hasMessageContaining("\"postgres\"");
        assertConfigError(withHealthCheck("type: mysql"), "routes[0].healthCheck.type")
                .hasMessageContaining("\"mysql\"");
    }

    @Test
    void rejectsUnknownKeysInTheHttpAndPostgresBlocks() {
        assertConfigError(withHealthCheck("http: { status: 200 }"), "routes[0].healthCheck.http.status");
        assertConfigError(withHealthCheck("postgres: { password: x }"), "routes[0].healthCheck.postgres.password");
    }

    /** One route whose {@code healthCheck} block holds {@code lines} (indented four spaces after the first). */
    private static String withHealthCheck(String lines) {
        return ONE_ROUTE + "    healthCheck:\n      " + lines.replace("\n    ", "\n      ") + "\n";
    }

    private static HealthCheck healthCheckOf(String block) {
        String indented = block.strip().replace("\n", "\n      ");
        return parse(ONE_ROUTE + "    healthCheck:\n      " + indented + "\n")
                .routes()
                .get(0)
                .healthCheck()
                .orElseThrow();
    }

    private static ProxyConfig parse(String yaml) {
        return new ConfigLoader(Map.of()).parse(yaml, "test.yaml");
    }

    /** Asserts that the text is rejected with an error for {@code key}, whose message starts with the key. */
    private static AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(String yaml, String key) {
        return assertThatThrownBy(() -> parse(yaml))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
                .hasMessageStartingWith(key + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
