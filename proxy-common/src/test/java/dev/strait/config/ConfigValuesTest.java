package dev.strait.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigValuesTest {

    @Test
    void parsesDurationsWithUnits() {
        assertThat(ConfigValues.duration("k", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(ConfigValues.duration("k", "5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(ConfigValues.duration("k", "2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(ConfigValues.duration("k", "1h")).isEqualTo(Duration.ofHours(1));
        assertThat(ConfigValues.duration("k", "30")).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> ConfigValues.duration("timeouts.connect", "soon"))
                .hasMessage("timeouts.connect: bad value \"soon\" (expected a duration like 250ms, 1.5s, 2m30s, 1h)");
    }

    @Test
    void parsesSizesInBinaryUnits() {
        assertThat(ConfigValues.size("k", "65536")).isEqualTo(65536);
        assertThat(ConfigValues.size("k", "32KiB")).isEqualTo(32 * 1024);
        assertThat(ConfigValues.size("k", "1MiB")).isEqualTo(1024 * 1024);
        assertThatThrownBy(() -> ConfigValues.size("k", "4GiB")).hasMessageContaining("at most 2GiB");
        assertThatThrownBy(() -> ConfigValues.size("k", "lots")).hasMessageContaining("\"lots\"");
    }

    @Test
    void parsesCompoundAndFractionalDurationsAsGoAndHaproxyUsersWriteThem() {
        assertThat(ConfigValues.duration("k", "1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(ConfigValues.duration("k", "2m30s")).isEqualTo(Duration.ofSeconds(150));
        assertThat(ConfigValues.duration("k", "1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(ConfigValues.duration("k", "500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(ConfigValues.duration("k", "1d2h3m4s5ms"))
                .isEqualTo(Duration.ofDays(1)
                        .plusHours(2)
                        .plusMinutes(3)
                        .plusSeconds(4)
                        .plusMillis(5));
        assertThat(ConfigValues.duration("k", "0.25")).isEqualTo(Duration.ofMillis(250));
        assertThat(ConfigValues.duration("k", "1.5ms")).isEqualTo(Duration.ofNanos(1_500_000));
    }

    @Test
    void formatsDurationsTheWayTheConfigWritesThem() {
        assertThat(ConfigValues.format(Duration.ZERO)).isEqualTo("0s");
        assertThat(ConfigValues.format(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(ConfigValues.format(Duration.ofMillis(1500))).isEqualTo("1s500ms");
        assertThat(ConfigValues.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
        assertThat(ConfigValues.duration("k", ConfigValues.format(Duration.ofSeconds(93_784))))
                .isEqualTo(Duration.ofSeconds(93_784));
    }

    @Test
    void rejectsHalfWrittenCompoundDurationsNamingTheKeyAndTheValue() {
        for (String bad : List.of("1h30", "1.s", ".5s", "1h 30m", "5sec", "-1s")) {
            assertThatThrownBy(() -> ConfigValues.duration("timeouts.idle", bad))
                    .as(bad)
                    .hasMessage("timeouts.idle: bad value \"" + bad + "\" (expected a duration like 250ms, 1.5s, 2m30s,"
                            + " 1h)");
        }
    }

    @Test
    void sizesTakeKbAndKibAsTheSameBinaryUnit() {
        assertThat(ConfigValues.size("k", "64KiB")).isEqualTo(65536);
        assertThat(ConfigValues.size("k", "64KB")).isEqualTo(65536);
        assertThat(ConfigValues.size("k", "64k")).isEqualTo(65536);
        assertThat(ConfigValues.size("k", "1MB")).isEqualTo(1024 * 1024);
        assertThat(ConfigValues.size("k", "1m")).isEqualTo(1024 * 1024);
    }

    @Test
    void waterMarksRejectLowAboveHigh() {
        assertThatThrownBy(() -> new WaterMark(128, 64))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("writeBufferWaterMark.low")
                .hasMessageContaining("128");
    }

    @Test
    void proxyConfigRejectsDuplicateRouteNamesAndListeners() {
        Route a = Route.of("a", new HostAndPort("127.0.0.1", 1000), List.of(new HostAndPort("127.0.0.1", 2000)));
        Route a2 = Route.of("a", new HostAndPort("127.0.0.1", 1001), List.of(new HostAndPort("127.0.0.1", 2000)));
        Route b = Route.of("b", new HostAndPort("127.0.0.1", 1000), List.of(new HostAndPort("127.0.0.1", 2000)));
        assertThatThrownBy(() -> ProxyConfig.of(List.of(a, a2)))
                .hasMessage("routes[1].name: bad value \"a\" (another route has this name)");
        assertThatThrownBy(() -> ProxyConfig.of(List.of(a, b)))
                .hasMessage("routes[1].listen: bad value \"127.0.0.1:1000\" (routes[0].listen is the same address)");
    }

    @Test
    void proxyConfigRejectsTheSamePortOnAWildcardAndASpecificAddress() {
        Route any = Route.of("any", new HostAndPort("0.0.0.0", 5432), List.of(new HostAndPort("10.0.0.1", 5432)));
        Route local = Route.of("local", new HostAndPort("127.0.0.1", 5432), List.of(new HostAndPort("10.0.0.1", 5432)));
        Route other = Route.of("other", new HostAndPort("127.0.0.2", 5432), List.of(new HostAndPort("10.0.0.1", 5432)));

        assertThatThrownBy(() -> ProxyConfig.of(List.of(any, local)))
                .hasMessage("routes[1].listen: bad value \"127.0.0.1:5432\" (same port as routes[0].listen"
                        + " 0.0.0.0:5432 on an overlapping address)");
        assertThat(ProxyConfig.of(List.of(local, other)).routes()).hasSize(2);
    }

    @Test
    void proxyConfigRejectsAnAdminAddressARouteListensOn() {
        Route db = Route.of("db", new HostAndPort("127.0.0.1", 5432), List.of(new HostAndPort("10.0.0.1", 5432)));

        assertThatThrownBy(() -> ProxyConfig.of(List.of(db))
                        .with(TransportKind.AUTO, Optional.of(new HostAndPort("0.0.0.0", 5432))))
                .hasMessage("admin.listen: bad value \"0.0.0.0:5432\" (same port as routes[0].listen"
                        + " 127.0.0.1:5432 on an overlapping address)");
    }
}
