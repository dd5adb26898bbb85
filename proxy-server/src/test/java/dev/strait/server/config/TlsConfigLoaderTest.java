package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.BackendTls;
import dev.strait.config.ClientAuth;
import dev.strait.config.ConfigException;
import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code tls} and {@code backendTls} blocks: their defaults, and one error naming the key for each bad input. */
class TlsConfigLoaderTest {
    @TempDir
    static Path dir;

    static TestPki pki;
    static Issued alpha;
    static Issued beta;
    static Issued expired;

    @BeforeAll
    static void certificates() throws Exception {
        pki = TestPki.create(dir, "ca");
        alpha = pki.issue("alpha", "alpha.test", KeyForm.PKCS1_RSA, "alpha.test");
        beta = pki.issue("beta", "beta.test", KeyForm.SEC1_EC, "beta.test");
        expired = pki.issueExpired("expired", "old.test", "old.test");
    }

    @Test
    void readsBothBlocksWithTheirDefaults() {
        Route route = route(
                """
                    tls:
                      certificates: [{ cert: %s, key: %s }]
                    backendTls: { serverName: db.internal, ca: %s }
                """
                        .formatted(alpha.cert(), alpha.key(), pki.caCert()));

        TlsConfig tls = route.tls().orElseThrow();
        assertThat(tls.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(tls.clientAuth()).isEqualTo(ClientAuth.NONE);
        assertThat(tls.handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(tls.provider()).isEqualTo(TlsProvider.AUTO);
        assertThat(tls.allowExpired()).isFalse();
        assertThat(route.backendTls())
                .contains(new BackendTls(
                        true,
                        Optional.of("db.internal"),
                        true,
                        Optional.of(pki.caCert()),
                        Optional.empty(),
                        Optional.empty(),
                        List.of()));
        assertThat(route.anyTls()).isTrue();
    }

    @Test
    void aBackendsOwnBlockReplacesTheRoutes() {
        Route route = parse(
                """
                routes:
                  - listen: 127.0.0.1:0
                    backends:
                      - { address: 127.0.0.1:1, backendTls: { enabled: false } }
                      - 127.0.0.1:2
                    backendTls: { serverName: db.internal, ca: %s }
                """
                        .formatted(pki.caCert()));

        assertThat(route.backendTlsFor(route.backends().get(0))).isEmpty();
        assertThat(route.backendTlsFor(route.backends().get(1))).isPresent();
    }

    @Test
    void namesTheKeyOfEachBadInput() {
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }] }".formatted(dir.resolve("none.crt"), alpha.key()),
                "routes[0].tls.certificates[0].cert: cannot read");
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }] }".formatted(alpha.cert(), beta.key()),
                "routes[0].tls.certificates[0].key: the key does not match the certificate");
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }] }".formatted(expired.cert(), expired.key()),
                "routes[0].tls.certificates[0].cert: the certificate expired on 2020-01-02");
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }], clientAuth: require }"
                        .formatted(alpha.cert(), alpha.key()),
                "routes[0].tls.clientCa: is required with clientAuth require");
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }], protocols: [TLSv1.1] }"
                        .formatted(alpha.cert(), alpha.key()),
                "routes[0].tls.protocols: bad value \"TLSv1.1\"");
        assertError(
                "tls: { certificates: [{ cert: %s, key: %s }], provider: gnutls }".formatted(alpha.cert(), alpha.key()),
                "routes[0].tls.provider: bad value \"gnutls\"");
        assertError("tls: { certificates: [] }", "routes[0].tls.certificates: a list of at least one");
        assertError(
                "backendTls: { ca: %s }".formatted(pki.caCert()),
                "routes[0].backendTls.serverName: is required to verify the IP-addressed backend 127.0.0.1:1");
        assertError(
                "backendTls: { serverName: x.test, cert: %s }".formatted(alpha.cert()),
                "routes[0].backendTls.key: is required with the other");
        assertError(
                "backendTls: { serverName: x.test, ca: %s }".formatted(dir.resolve("none.crt")),
                "routes[0].backendTls.ca: cannot read");
    }

    @Test
    void terminatesPostgresTlsWithAlpnPostgresqlByDefault() {
        Route route = route(
                """
                    protocol: postgres
                    tls: { certificates: [{ cert: %s, key: %s }] }
                """
                        .formatted(alpha.cert(), alpha.key()));

        assertThat(route.protocol()).isEqualTo(RouteProtocol.POSTGRES);
        assertThat(route.tls().orElseThrow().alpn()).containsExactly("postgresql");
    }

    @Test
    void keepsAConfiguredAlpnListThatHoldsPostgresql() {
        Route route = route(
                """
                    protocol: postgres
                    tls: { certificates: [{ cert: %s, key: %s }], alpn: [postgresql, x-other] }
                """
                        .formatted(alpha.cert(), alpha.key()));

        assertThat(route.tls().orElseThrow().alpn()).containsExactly("postgresql", "x-other");
    }

    @Test
    void refusesPostgresTlsWhoseAlpnLacksPostgresql() {
        assertError(
                "protocol: postgres\n    tls: { certificates: [{ cert: %s, key: %s }], alpn: [h2] }"
                        .formatted(alpha.cert(), alpha.key()),
                "routes[0].tls.alpn: bad value \"[h2]\"");
    }

    @Test
    void aTcpRouteKeepsNoAlpn() {
        Route route =
                route("    tls: { certificates: [{ cert: %s, key: %s }] }\n".formatted(alpha.cert(), alpha.key()));

        assertThat(route.tls().orElseThrow().alpn()).isEmpty();
    }

    @Test
    void acceptsTlsWithSniToRouteByTheNegotiatedName() {
        Route route = parse(
                """
                routes:
                  - listen: 127.0.0.1:0
                    protocol: postgres
                    sni: [{ serverNames: [db.test], backends: [127.0.0.1:2] }]
                    tls: { certificates: [{ cert: %s, key: %s }] }
                """
                        .formatted(alpha.cert(), alpha.key()));

        assertThat(route.routesBySni()).isTrue();
        assertThat(route.tls()).isPresent();
        assertThat(route.backends()).isEmpty();
    }

    @Test
    void startsWithAnExpiredCertificateWhenAllowed() {
        Route route = route(
                """
                    tls: { certificates: [{ cert: %s, key: %s }], allowExpired: true }
                """
                        .formatted(expired.cert(), expired.key()));

        assertThat(route.tls().orElseThrow().allowExpired()).isTrue();
    }

    private static void assertError(String block, String message) {
        assertThatThrownBy(() -> route("    " + block + "\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(message);
    }

    private static Route route(String blocks) {
        return parse("routes:\n  - listen: 127.0.0.1:0\n    backends: [127.0.0.1:1]\n" + blocks);
    }

    private static Route parse(String yaml) {
        return new ConfigLoader(Map.of()).parse(yaml, "tls.yaml").routes().get(0);
    }
}
