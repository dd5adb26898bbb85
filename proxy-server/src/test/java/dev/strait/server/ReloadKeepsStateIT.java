package dev.strait.server;

import static dev.strait.server.support.Ports.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a reload that leaves a route's identity alone carries over: the global connection limit it changes takes
 * effect at once, and a backend taken down by the passive check stays down for exactly its cool-off.
 */
class ReloadKeepsStateIT {
    @Test
    void appliesAGlobalMaxConnectionsChangeOnReloadWhenTheRoutesAreUnchanged() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Route test = TestRoutes.oneBackend(
                    "test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);
            try (RunningProxy proxy = RunningProxy.start(withGlobalMax(1, List.of(test)));
                    Socket first = proxy.connect()) {
                Clients.assertEchoes(first, "the only connection allowed");
                try (Socket second = proxy.connect()) {
                    Clients.assertClosedByProxyWithin(second, 2000, "a second client under global maxConnections 1");
                }

                proxy.server().reload(withGlobalMax(0, List.of(test)));

                try (Socket second = proxy.connect()) {
                    Clients.assertEchoes(second, "served once the global limit is lifted");
                }
                Clients.assertEchoes(first, "the first client still relays");
                assertThat(metrics(proxy.server(), "test").refusedTotal()).isEqualTo(1);
            }
        }
    }

    @Test
    void bringsBackABackendAfterItsPassiveCoolOffWhenAReloadComesInBetween() throws Exception {
        int dead = freePort();
        Route route = TestRoutes.oneBackend(
                "test",
                0,
                "127.0.0.1:" + dead,
                new PassiveCheck(1, Duration.ofSeconds(1)),
                Timeouts.DEFAULTS,
                Limits.NONE);
        try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route)) {
            takeDownByOneRefusedConnect(proxy);

            proxy.server()
                    .reload(RunningProxy.config(TransportKind.AUTO, List.of(route.withTimeouts(fiveMinutesIdle()))));
            assertThat(proxy.server().config().routes().get(0).timeouts().idle())
                    .isEqualTo(Duration.ofMinutes(5));

            await().atMost(Duration.ofSeconds(3))
                    .alias("the backend is back after its 1s cool-off, though a reload came in between")
                    .until(() -> proxy.server().backends("test").get(0).healthy());
        }
    }

    @Test
    void keepsABackendOutForItsWholePassiveCoolOffAcrossAReload() throws Exception {
        int dead = freePort();
        Route route = TestRoutes.oneBackend(
                "test",
                0,
                "127.0.0.1:" + dead,
                new PassiveCheck(1, Duration.ofSeconds(2)),
                Timeouts.DEFAULTS,
                Limits.NONE);
        try (RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, route)) {
            long downAt = takeDownByOneRefusedConnect(proxy);

            proxy.server()
                    .reload(RunningProxy.config(TransportKind.AUTO, List.of(route.withTimeouts(fiveMinutesIdle()))));

            long sinceDown = (System.nanoTime() - downAt) / 1_000_000;
            assertThat(proxy.server().backends("test").get(0).healthy())
                    .as("healthy right after a reload that changed only a timeout, %dms into a 2s cool-off", sinceDown)
                    .isFalse();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().backends("test").get(0).healthy());
            long outMillis = (System.nanoTime() - downAt) / 1_000_000;
            assertThat(outMillis)
                    .as("out for the 2s cool-off (measured %dms)", outMillis)
                    .isGreaterThanOrEqualTo(2000);
        }
    }

    /**
     * One client, whose connect to the route's only (dead) backend is refused, takes that backend down. Returns a time
     * just before that client connected: the cool-off cannot have started earlier, so it is a lower bound that does not
     * depend on how soon a poll noticed the backend go down.
     */
    private static long takeDownByOneRefusedConnect(RunningProxy proxy) throws IOException {
        long beforeConnect = System.nanoTime();
        try (Socket client = proxy.connect()) {
            Clients.assertClosedByProxyWithin(client, 5000, "a client whose only backend refuses");
        }
        await().atMost(Duration.ofSeconds(5))
                .alias("the passive check takes the backend down")
                .until(() -> !proxy.server().backends("test").get(0).healthy());
        assertThat(metrics(proxy.server(), "test").backendConnectFailuresTotal())
                .isEqualTo(1);
        return beforeConnect;
    }

    private static Timeouts fiveMinutesIdle() {
        return new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofMinutes(5));
    }

    private static ProxyConfig withGlobalMax(int maxConnections, List<Route> routes) {
        ProxyConfig base = RunningProxy.config(TransportKind.AUTO, routes);
        return new ProxyConfig(
                base.transport(),
                base.splice(),
                base.workers(),
                base.backlog(),
                base.shutdownTimeout(),
                base.admin(),
                base.dns(),
                maxConnections,
                base.routes());
    }

    private static RouteMetrics metrics(ProxyServer server, String route) {
        return server.routeMetrics().get(route);
    }
}
