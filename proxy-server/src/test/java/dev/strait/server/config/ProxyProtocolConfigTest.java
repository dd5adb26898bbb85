package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.config.ProxyConfig;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.Route;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** {@code proxyProtocol}, {@code sendProxyProtocol} and {@code backends[].sendProxyProtocol}: read, and refused in one line. */
class ProxyProtocolConfigTest {

    @Test
    void readsTheBlockTheRouteSettingAndABackendOverride() {
        Route route = parse(
                        """
                        routes:
                          - listen: 127.0.0.1:15432
                            proxyProtocol: { accept: true, trustedSources: [10.0.0.0/8, "::1"], headerTimeout: 2s }
                            sendProxyProtocol: v2
                            backends:
                              - 127.0.0.1:5432
                              - { address: 127.0.0.1:5433, sendProxyProtocol: off }
                        """)
                .routes()
                .get(0);
        assertThat(route.proxyProtocol())
                .isEqualTo(new ProxyProtocol(
                        true,
                        List.of(Cidr.parse("a", "10.0.0.0/8"), Cidr.parse("b", "::1")),
                        Duration.ofSeconds(2),
                        ProxyHeaderVersion.V2));
        assertThat(route.backends().get(1).sendProxyProtocol()).contains(ProxyHeaderVersion.OFF);
        assertThat(route.sendProxyProtocol(route.backends().get(0))).isEqualTo(ProxyHeaderVersion.V2);
        assertThat(route.sendProxyProtocol(route.backends().get(1))).isEqualTo(ProxyHeaderVersion.OFF);
    }

    @Test
    void isOffWhenLeftOut() {
        Route route = parse("routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2]}]")
                .routes()
                .get(0);
        assertThat(route.proxyProtocol()).isEqualTo(ProxyProtocol.OFF);
        assertThat(route.backends().get(0).sendProxyProtocol()).isEqualTo(Optional.empty());
    }

    @Test
    void refusesBadValuesNamingTheKey() {
        assertConfigError(
                        "routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2], sendProxyProtocol: v3}]",
                        "routes[0].sendProxyProtocol")
                .hasMessageContaining("\"v3\"");
        assertConfigError(
                        "routes: [{listen: 127.0.0.1:1, backends: [{address: 127.0.0.1:2, sendProxyProtocol: yes}]}]",
                        "routes[0].backends[0].sendProxyProtocol")
                .hasMessageContaining("\"yes\"");
        assertConfigError(
                "routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2], proxyProtocol: {accept: true}}]",
                "routes[0].proxyProtocol.trustedSources");
        assertConfigError(
                        "routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2], proxyProtocol: {accept: true,"
                                + " trustedSources: [10.0.0.0/8], headerTimeout: 0s}}]",
                        "routes[0].proxyProtocol.headerTimeout")
                .hasMessageContaining("\"0s\"");
        assertConfigError(
                "routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2], proxyProtocol: {accept: true,"
                        + " trustedSources: [10.0.0.300/8]}}]",
                "routes[0].proxyProtocol.trustedSources[0]");
        assertConfigError(
                "routes: [{listen: 127.0.0.1:1, backends: [127.0.0.1:2], proxyProtocol: {acept: true}}]",
                "routes[0].proxyProtocol.acept");
    }

    private static ProxyConfig parse(String yaml) {
        return new ConfigLoader(Map.of()).parse(yaml, "test.yaml");
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(String yaml, String key) {
        return assertThatThrownBy(() -> parse(yaml))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
                .hasMessageStartingWith(key + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
