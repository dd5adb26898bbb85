package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.DnsConfig;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.ReloadPlan.RestartOnly;
import dev.strait.server.support.TestRoutes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link ReloadPlan#between}: which routes a reload binds, rebinds, updates and removes, worked out without sockets. */
class ReloadPlanTest {
    private static final Route A = route("A", 7001);
    private static final Route B = route("B", 7002);
    private static final Route C = route("C", 7003);

    @Test
    void changesNothingWhenTheConfigIsTheSame() {
        ReloadPlan plan = ReloadPlan.between(config(A, B), config(A, B), Map.of());

        assertThat(plan).isEqualTo(new ReloadPlan(List.of(), List.of(), List.of(), List.of(), List.of(), Map.of()));
    }

    @Test
    void addsARouteNewByNameAndLeavesTheOthersAlone() {
        ReloadPlan plan = ReloadPlan.between(config(A), config(A, C, B), Map.of());

        assertThat(plan.added()).containsExactly(C, B);
        assertThat(plan.toBind()).containsExactly(C, B);
        assertThat(plan.rebound()).isEmpty();
        assertThat(plan.updated()).isEmpty();
        assertThat(plan.removed()).isEmpty();
    }

    @Test
    void removesByNameTheRoutesTheNewConfigNoLongerHas() {
        ReloadPlan plan = ReloadPlan.between(config(A, B, C), config(B), Map.of());

        assertThat(plan.removed()).containsExactly("A", "C");
        assertThat(plan.added()).isEmpty();
        assertThat(plan.updated()).isEmpty();
    }

    @Test
    void rebindsARouteWhoseListenAddressChanged() {
        Route moved = route("A", 7100);

        ReloadPlan plan = ReloadPlan.between(config(A, B), config(moved, B), Map.of());

        assertThat(plan.rebound()).containsExactly(moved);
        assertThat(plan.toBind()).containsExactly(moved);
        assertThat(plan.added()).isEmpty();
        assertThat(plan.updated()).isEmpty();
        assertThat(plan.removed()).isEmpty();
    }

    @Test
    void listsAddedRoutesBeforeReboundOnesAmongThoseToBind() {
        Route moved = route("A", 7100);

        ReloadPlan plan = ReloadPlan.between(config(A), config(moved, C), Map.of());

        assertThat(plan.toBind()).containsExactly(C, moved);
    }

    @Test
    void keepsTheListenerOfARoutePutOnPortZeroWhenTheNewConfigNamesThePortItGot() {
        Route anyPort = route("A", 0);
        Route samePort = route("A", 41234);

        ReloadPlan plan = ReloadPlan.between(config(anyPort), config(samePort), Map.of("A", 41234));

        assertThat(plan.rebound()).isEmpty();
        assertThat(plan.updated()).containsExactly(samePort);
    }

    @Test
    void rebindsARouteWhoseHostChangedEvenOnThePortItAlreadyHolds() {
        Route anyPort = route("A", 0);
        Route otherHost = TestRoutes.from(anyPort)
                .listen(new HostAndPort("127.0.0.2", 41234))
                .build();

        ReloadPlan plan = ReloadPlan.between(config(anyPort), config(otherHost), Map.of("A", 41234));

        assertThat(plan.rebound()).containsExactly(otherHost);
    }

    @Test
    void updatesARouteWhoseSettingsChangedOnTheSameListener() {
        Route slower = A.withTimeouts(new Timeouts(
                Duration.ofSeconds(9),
                Timeouts.DEFAULTS.idle(),
                Timeouts.DEFAULTS.clientFin(),
                Timeouts.DEFAULTS.serverFin(),
                Timeouts.DEFAULTS.queue(),
                Timeouts.DEFAULTS.maxLifetime()));

        ReloadPlan plan = ReloadPlan.between(config(A, B), config(slower, B), Map.of());

        assertThat(plan.updated()).containsExactly(slower);
        assertThat(plan.changes()).containsExactly(Map.entry("A", "timeouts.connect 5s -> 9s"));
        assertThat(plan.toBind()).isEmpty();
        assertThat(plan.removed()).isEmpty();
    }

    @Test
    void updatesEveryKeptRouteWhenTheGlobalConnectionLimitChanges() {
        ProxyConfig before = config(A, B);
        ProxyConfig after = global(before, before.workers(), before.backlog(), 100, before.dns());

        ReloadPlan plan = ReloadPlan.between(before, after, Map.of());

        assertThat(plan.updated()).containsExactly(A, B);
        assertThat(plan.changes()).containsEntry("B", "maxConnections 0 -> 100");
        assertThat(plan.rejected()).isEmpty();
    }

    @Test
    void updatesEveryKeptRouteWhenTheDnsSettingsChange() {
        ProxyConfig before = config(A, B);
        DnsConfig dns = new DnsConfig(Duration.ofSeconds(5), List.of());
        ProxyConfig after = global(before, before.workers(), before.backlog(), before.maxConnections(), dns);

        ReloadPlan plan = ReloadPlan.between(before, after, Map.of());

        assertThat(plan.updated()).containsExactly(A, B);
    }

    @Test
    void rejectsEachRestartOnlyChangeNamingTheRunningAndTheAskedValue() {
        ProxyConfig before = config(A);
        ProxyConfig after = global(
                before.with(TransportKind.NIO, Optional.of(new HostAndPort("127.0.0.1", 9901))),
                4,
                128,
                before.maxConnections(),
                before.dns());

        ReloadPlan plan = ReloadPlan.between(before, after, Map.of());

        assertThat(plan.rejected())
                .containsExactly(
                        new RestartOnly("transport", "auto", "nio"),
                        new RestartOnly("workers", "0", "4"),
                        new RestartOnly("backlog", "1024", "128"),
                        new RestartOnly("admin", "none", "127.0.0.1:9901"));
        assertThat(plan.updated())
                .as("restart-only settings leave the routes alone")
                .isEmpty();
    }

    @Test
    void saysInOneLineWhichBackendsAndSettingsOfAnUpdatedRouteChanged() {
        Route two = Route.of(
                "db",
                new HostAndPort("127.0.0.1", 7001),
                List.of(new HostAndPort("10.0.0.1", 5432), new HostAndPort("10.0.0.2", 5432)));
        Route one = new Route(
                "db",
                two.listen(),
                List.of(two.backends().get(1)),
                BalanceAlgorithm.ROUND_ROBIN,
                two.healthCheck(),
                two.passiveCheck(),
                two.retries(),
                two.timeouts(),
                two.writeBufferWaterMark(),
                two.limits(),
                two.access(),
                two.tcpKeepalive(),
                two.sni(),
                two.protocol(),
                two.accessLog(),
                two.capture(),
                two.proxyProtocol(),
                two.tls(),
                two.backendTls(),
                two.deferAccept());

        ReloadPlan plan = ReloadPlan.between(config(two), config(one), Map.of());

        assertThat(plan.changes())
                .containsExactly(Map.entry(
                        "db",
                        "backends 10.0.0.1:5432,10.0.0.2:5432 -> 10.0.0.2:5432; balance least-connections ->"
                                + " round-robin"));
    }

    @Test
    void updatesARouteWhoseDeferAcceptChangedInPlaceKeepingItsListener() {
        Route deferred = TestRoutes.from(A).deferAccept(Duration.ofSeconds(1)).build();

        ReloadPlan plan = ReloadPlan.between(config(A, B), config(deferred, B), Map.of());

        assertThat(plan.updated()).containsExactly(deferred);
        assertThat(plan.toBind()).as("set on the running listener, not rebound").isEmpty();
        assertThat(plan.rejected()).isEmpty();
        assertThat(plan.changes()).containsExactly(Map.entry("A", "deferAccept 0s -> 1s"));
    }

    @Test
    void comparesTheNextReloadWithTheRunningValuesAfterARejectedRestartOnlyChange() {
        ProxyConfig running = global(config(A), 2, 1024, 0, DnsConfig.DEFAULTS);
        ProxyConfig asked = global(running, 4, 1024, 0, DnsConfig.DEFAULTS);
        ProxyConfig applied = asked.withRestartOnlyOf(running);

        ReloadPlan next = ReloadPlan.between(applied, global(running, 8, 1024, 0, DnsConfig.DEFAULTS), Map.of());

        assertThat(applied.workers()).as("what runs after the rejected change").isEqualTo(2);
        assertThat(next.rejected()).containsExactly(new RestartOnly("workers", "2", "8"));
    }

    private static Route route(String name, int port) {
        return Route.of(name, new HostAndPort("127.0.0.1", port), List.of(new HostAndPort("127.0.0.1", 9000)));
    }

    private static ProxyConfig config(Route... routes) {
        return ProxyConfig.of(List.of(routes));
    }

    private static ProxyConfig global(ProxyConfig c, int workers, int backlog, int maxConnections, DnsConfig dns) {
        return new ProxyConfig(
                c.transport(),
                c.splice(),
                workers,
                backlog,
                c.shutdownTimeout(),
                c.admin(),
                dns,
                maxConnections,
                c.routes());
    }
}
