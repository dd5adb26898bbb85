package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.ConfigException;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code sni}, {@code protocol} and SNI timeout keys of a route, and their one-line errors. */
class SniConfigTest {

    @Test
    void readsTargetsProtocolAndTimeouts() {
        Route route = route(
                """
                routes:
                  - name: tls
                    listen: 127.0.0.1:0
                    protocol: postgres
                    sni:
                      - serverNames: [DB1.Example.com.]
                        backends: [10.0.0.1:5432]
                      - serverNames: ["*.pg.example.com"]
                        backends: [10.0.0.2:5432, {address: 10.0.0.3:5432, weight: 2}]
                        balance: round-robin
                        retries: 0
                        healthCheck: {type: postgres}
                    backends: [10.0.0.9:443]
                    timeouts: {clientHello: 3s, silentClient: 500ms}
                """);

        assertThat(route.protocol()).isEqualTo(RouteProtocol.POSTGRES);
        assertThat(route.sni()).extracting(SniTarget::name).containsExactly("db1.example.com", "*.pg.example.com");
        SniTarget pg = route.sni().get(1);
        assertThat(pg.backends()).hasSize(2);
        assertThat(pg.backends().get(1).weight()).isEqualTo(2);
        assertThat(pg.balance()).isEqualTo(BalanceAlgorithm.ROUND_ROBIN);
        assertThat(pg.retries()).isZero();
        assertThat(pg.healthCheck()).isPresent();
        assertThat(route.sni().get(0).balance()).isEqualTo(BalanceAlgorithm.LEAST_CONNECTIONS);
        assertThat(route.backends()).singleElement().satisfies(b -> assertThat(b.address())
                .isEqualTo(new HostAndPort("10.0.0.9", 443)));
        assertThat(route.timeouts().clientHello()).isEqualTo(Duration.ofSeconds(3));
        assertThat(route.timeouts().silentClient()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void anSniRouteMayLeaveOutItsDefaultBackendsAndAPlainRouteKeepsItsDefaults() {
        Route sniOnly = route(
                """
                routes:
                  - listen: 127.0.0.1:0
                    sni: [{serverNames: [a.test], backends: [10.0.0.1:443]}]
                """);
        assertThat(sniOnly.backends()).isEmpty();

        Route plain = route("routes: [{listen: 127.0.0.1:0, backends: [10.0.0.1:1]}]");
        assertThat(plain.sni()).isEmpty();
        assertThat(plain.protocol()).isEqualTo(RouteProtocol.TCP);
        assertThat(plain.timeouts().clientHello()).isEqualTo(Duration.ofSeconds(10));
        assertThat(plain.timeouts().silentClient()).isZero();
    }

    @Test
    void namesTheKeyAndValueOfEveryMistake() {
        assertError(
                "routes: [{listen: 127.0.0.1:0, sni: [{serverNames: [a.*.test], backends: [10.0.0.1:1]}]}]",
                "routes[0].sni[0].serverNames[0]",
                "a.*.test");
        assertError(
                "routes: [{listen: 127.0.0.1:0, sni: [{serverNames: [a.test]}]}]",
                "routes[0].sni[0].backends",
                "required");
        assertError(
                "routes: [{listen: 127.0.0.1:0, sni: [{backends: [10.0.0.1:1]}]}]",
                "routes[0].sni[0].serverNames",
                "required");
        assertError(
                "routes: [{listen: 127.0.0.1:0, backends: [10.0.0.1:1], protocol: mysql}]",
                "routes[0].protocol",
                "mysql");
        assertError(
                "routes: [{listen: 127.0.0.1:0, sni: [{serverNames: [a.test], backends: [10.0.0.1:1], tls: on}]}]",
                "routes[0].sni[0].tls",
                "");
        assertError(
                """
                routes:
                  - listen: 127.0.0.1:0
                    sni:
                      - {serverNames: [a.test], backends: [10.0.0.1:1]}
                      - {serverNames: [A.test.], backends: [10.0.0.2:1]}
                """,
                "routes[0].sni",
                "a.test");
        assertError("routes: [{listen: 127.0.0.1:0}]", "routes[0].backends", "required");
    }

    private static Route route(String yaml) {
        ProxyConfig config = new ConfigLoader(Map.of()).parse(yaml, "test.yaml");
        return config.routes().get(0);
    }

    private static void assertError(String yaml, String key, String mentions) {
        assertThatThrownBy(() -> route(yaml))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
                .hasMessageStartingWith(key)
                .hasMessageContaining(mentions)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
