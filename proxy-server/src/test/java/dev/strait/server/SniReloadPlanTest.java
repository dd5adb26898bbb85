package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HostAndPort;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.RouteProtocol;
import dev.strait.config.SniTarget;
import dev.strait.server.support.TestRoutes;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A reload that changes a route's sni targets or protocol updates it in place, and says what changed. */
class SniReloadPlanTest {

    @Test
    void aChangedTargetUpdatesTheRouteAndTheLogLineNamesIt() {
        Route was = route(List.of(target("db1.test", 1)), RouteProtocol.TCP);
        Route now = route(List.of(target("db1.test", 2), target("*.pg.test", 3)), RouteProtocol.POSTGRES);

        ReloadPlan plan = ReloadPlan.between(config(was), config(now), Map.of());

        assertThat(plan.updated()).containsExactly(now);
        assertThat(plan.changes().get("tls"))
                .contains("sni db1.test: 10.0.0.1:1 -> db1.test: 10.0.0.1:2,*.pg.test: 10.0.0.1:3")
                .contains("protocol tcp -> postgres");
    }

    @Test
    void theSameTargetsChangeNothing() {
        Route was = route(List.of(target("db1.test", 1)), RouteProtocol.POSTGRES);
        Route now = route(List.of(target("DB1.test.", 1)), RouteProtocol.POSTGRES);

        assertThat(ReloadPlan.between(config(was), config(now), Map.of()).updated())
                .isEmpty();
    }

    private static Route route(List<SniTarget> sni, RouteProtocol protocol) {
        return TestRoutes.route("tls")
                .port(4430)
                .backends("10.0.0.9:443")
                .sni(sni)
                .protocol(protocol)
                .build();
    }

    private static SniTarget target(String name, int port) {
        return new SniTarget(
                List.of(name),
                List.of(BackendSpec.of(new HostAndPort("10.0.0.1", port))),
                BalanceAlgorithm.ROUND_ROBIN,
                Optional.empty(),
                PassiveCheck.DISABLED,
                2);
    }

    private static ProxyConfig config(Route... routes) {
        return ProxyConfig.of(List.of(routes));
    }
}
