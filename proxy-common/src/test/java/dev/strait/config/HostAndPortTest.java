package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostAndPortTest {

    @Test
    void parsesHostNamesIpv4AndBracketedIpv6() {
        assertThat(HostAndPort.parse("k", "db.internal:5432")).isEqualTo(new HostAndPort("db.internal", 5432));
        assertThat(HostAndPort.parse("k", "127.0.0.1:0")).isEqualTo(new HostAndPort("127.0.0.1", 0));
        assertThat(HostAndPort.parse("k", "[::1]:22")).isEqualTo(new HostAndPort("::1", 22));
        assertThat(new HostAndPort("::1", 22)).hasToString("[::1]:22");
    }

    @Test
    void rejectsBadAddressesNamingTheKeyAndValue() {
        assertThatThrownBy(() -> HostAndPort.parse("routes[0].listen", "localhost"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].listen")
                .hasMessageContaining("\"localhost\"");
        assertThatThrownBy(() -> HostAndPort.parse("k", "host:70000")).hasMessageContaining("port out of range");
        assertThatThrownBy(() -> HostAndPort.parse("k", "host:http")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> HostAndPort.parse("k", "::1:22")).hasMessageContaining("[addr]:port");
        assertThatThrownBy(() -> HostAndPort.parse("k", "bad host:22")).hasMessageContaining("valid host");
        assertThatThrownBy(() -> HostAndPort.parse("backends[0]", "h:0").requireRealPort("backends[0]"))
                .hasMessageContaining("1-65535");
    }
}
