package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Durations are capped at 365 days, so no timer's nanoseconds overflow; name servers must be IP addresses. */
class DurationLimitTest {

    @Test
    void acceptsADurationOfExactly365Days() {
        assertThat(ConfigValues.duration("timeouts.maxLifetime", "365d")).isEqualTo(Duration.ofDays(365));
        assertThat(ConfigValues.MAX_DURATION).isEqualTo(Duration.ofDays(365));
    }

    @ParameterizedTest
    @ValueSource(strings = {"366d", "110000d", "99999999999999999d"})
    void rejectsADurationAbove365DaysNamingTheKeyAndTheValue(String text) {
        assertThatThrownBy(() -> ConfigValues.duration("timeouts.maxLifetime", text))
                .isInstanceOf(ConfigException.class)
                .hasMessage("timeouts.maxLifetime: bad value \"" + text + "\" (at most 365d)")
                .extracting(e -> ((ConfigException) e).key())
                .isEqualTo("timeouts.maxLifetime");
    }

    @Test
    void rejectsAHostNameAsANameServerNamingTheKeyAndTheValue() {
        assertThatThrownBy(() -> new DnsConfig(Duration.ofSeconds(30), List.of(new HostAndPort("dns.example", 53))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("dns.servers: ")
                .hasMessageContaining("\"dns.example:53\"");
    }

    @Test
    void acceptsIpv4AndIpv6NameServers() {
        List<HostAndPort> servers = List.of(new HostAndPort("127.0.0.1", 53), new HostAndPort("::1", 5353));

        assertThat(new DnsConfig(Duration.ofSeconds(30), servers).servers()).isEqualTo(servers);
    }
}
