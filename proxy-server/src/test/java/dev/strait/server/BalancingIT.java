package dev.strait.server;

import static dev.strait.server.support.LoopbackBackend.readTag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.BackendSpec;
import dev.strait.config.BalanceAlgorithm;
import dev.strait.config.HealthCheck;
import dev.strait.config.HostAndPort;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * How each balancing algorithm spreads real connections over real backends: each backend writes one tag byte, so the
 * client sees which backend the proxy chose.
 */
class BalancingIT {
    private static final TransportKind TRANSPORT = TransportKind.AUTO;

    @Test
    void roundRobinSharesConnectionsByWeightWithinThreePoints() throws Exception {
        int[] weights = {1, 2, 3};
        try (Backends backends = Backends.tagAndClose(3);
                RunningProxy proxy =
                        RunningProxy.start(TRANSPORT, route(BalanceAlgorithm.ROUND_ROBIN, backends, weights))) {
            int[] served = connectShortLived(proxy, null, 1200, 3);

            assertSharesMatchWeights(served, weights, 3.0);
        }
    }

    @Test
    void leastConnectionsSpreadsLongLivedConnectionsEvenly() throws Exception {
        int count = 1002;
        try (Backends backends = Backends.tagThenEcho(3);
                RunningProxy proxy =
                        RunningProxy.start(TRANSPORT, route(BalanceAlgorithm.LEAST_CONNECTIONS, backends, 1, 1, 1))) {
            List<Socket> clients = new ArrayList<>();
            try {
                int[] served = new int[3];
                for (int i = 0; i < count; i++) {
                    Socket client = proxy.connect();
                    clients.add(client);
                    served[readTag(client)]++;
                }
                double mean = count / 3.0;
                for (int b = 0; b < 3; b++) {
                    assertThat((double) served[b])
                            .as(
                                    "backend %d of 3 served %s of %d held connections; expected the mean %.1f +-1",
                                    b, served[b], count, mean)
                            .isBetween(mean - 1, mean + 1);
                    int active = proxy.server().backends("test").get(b).activeConnections();
                    assertThat((double) active)
                            .as("backend %d active connections, expected the mean %.1f +-1", b, mean)
                            .isBetween(mean - 1, mean + 1);
                }
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(proxy.server().backends("test"))
                            .as("every connection counted as ended")
                            .allSatisfy(b -> assertThat(b.activeConnections()).isZero()));
        }
    }

    @Test
    void randomUsesEveryBackendWithSharesNearTheirWeights() throws Exception {
        int[] weights = {1, 2, 3};
        try (Backends backends = Backends.tagAndClose(3);
                RunningProxy proxy = RunningProxy.start(TRANSPORT, route(BalanceAlgorithm.RANDOM, backends, weights))) {
            int[] served = new int[3];
            for (int i = 0; i < 1800; i++) {
                try (Socket client = proxy.connect()) {
                    served[readTag(client)]++;
                }
                // Two choices lean away from a backend whose last connection is still closing; waiting until none is
                // makes each pick a weighted draw between idle backends, so shares follow the weights.
                await().pollDelay(Duration.ZERO)
                        .pollInterval(Duration.ofMillis(1))
                        .atMost(Duration.ofSeconds(5))
                        .until(() ->
                                proxy.server().backends("test").stream().allMatch(b -> b.activeConnections() == 0));
            }

            assertThat(served).as("connections per backend: every one used").doesNotContain(0);
            // 5 points is more than 3 standard deviations of sampling noise (at most 1.2 points at 1,800 draws).
            assertSharesMatchWeights(served, weights, 5.0);
        }
    }

    @Test
    void sourceHashKeepsEachClientOnOneBackendAndMovesOnlyTheClientsOfARemovedOne() throws Exception {
        List<InetAddress> sources = new ArrayList<>();
        for (int i = 2; i < 34; i++) {
            sources.add(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) i}));
        }
        try (Backends backends = Backends.tagAndClose(3)) {
            Route before = route(BalanceAlgorithm.SOURCE_HASH, backends, 1, 1, 1);
            try (RunningProxy proxy = RunningProxy.start(TRANSPORT, before)) {
                Map<InetAddress, Integer> home = new HashMap<>();
                for (InetAddress source : sources) {
                    home.put(source, onlyBackendOf(proxy, source, 32)); // 32 sources x 32 = 1,024 connections
                }
                Map<Integer, Integer> sourcesPerBackend = new TreeMap<>();
                home.values().forEach(b -> sourcesPerBackend.merge(b, 1, Integer::sum));
                assertThat(sourcesPerBackend)
                        .as("32 sources hashed over 3 backends use more than one of them")
                        .hasSizeGreaterThan(1);

                int removed = sourcesPerBackend.keySet().iterator().next();
                List<BackendSpec> kept = new ArrayList<>(before.backends());
                kept.remove(removed);
                int port = proxy.port();
                proxy.server().reload(RunningProxy.config(TRANSPORT, List.of(withBackends(before, kept))));
                assertThat(proxy.port()).as("the listener is kept").isEqualTo(port);

                for (InetAddress source : sources) {
                    int now = onlyBackendOf(proxy, source, 4);
                    if (home.get(source) == removed) {
                        assertThat(now)
                                .as("source %s moved off removed backend %d", source, removed)
                                .isNotEqualTo(removed);
                    } else {
                        assertThat(now)
                                .as("source %s on a kept backend stays there after the reload", source)
                                .isEqualTo(home.get(source));
                    }
                }
            }
        }
    }

    @Test
    void usesTheBackupOnlyWhileEveryPrimaryIsDown() throws Exception {
        HealthCheck check = new HealthCheck(
                Duration.ofMillis(100), Duration.ofMillis(100), 1, 1, Optional.empty(), Optional.empty(), false);
        try (Backends backends = Backends.tagAndClose(3)) {
            List<BackendSpec> specs = List.of(
                    spec(backends.get(0), 1, 0, false),
                    spec(backends.get(1), 1, 0, false),
                    spec(backends.get(2), 1, 0, true));
            Route route =
                    withHealthCheck(withBackends(route(BalanceAlgorithm.ROUND_ROBIN, backends, 1, 1, 1), specs), check);
            try (RunningProxy proxy = RunningProxy.start(TRANSPORT, route)) {
                assertThat(connectShortLived(proxy, null, 100, 3))
                        .as("primaries up: connections per backend (the last is the backup)")
                        .containsExactly(50, 50, 0);

                backends.get(0).stop();
                backends.get(1).stop();
                awaitHealth(proxy, false, false, true);
                assertThat(connectShortLived(proxy, null, 100, 3))
                        .as("primaries down: connections per backend")
                        .containsExactly(0, 0, 100);

                backends.get(0).start();
                backends.get(1).start();
                awaitHealth(proxy, true, true, true);
                int[] after = connectShortLived(proxy, null, 100, 3);
                assertThat(after[2])
                        .as("backup connections once the primaries are back")
                        .isZero();
                assertThat(after[0] + after[1]).isEqualTo(100);
            }
        }
    }

    @Test
    void sendsConnectionsBeyondABackendsMaxConnectionsToTheOthers() throws Exception {
        int cap = 5;
        int count = 30;
        try (Backends backends = Backends.tagThenEcho(3)) {
            List<BackendSpec> specs = List.of(
                    spec(backends.get(0), 1, cap, false),
                    spec(backends.get(1), 1, 0, false),
                    spec(backends.get(2), 1, 0, false));
            Route route = withBackends(route(BalanceAlgorithm.ROUND_ROBIN, backends, 1, 1, 1), specs);
            try (RunningProxy proxy = RunningProxy.start(TRANSPORT, route)) {
                List<Socket> clients = new ArrayList<>();
                try {
                    int[] served = new int[3];
                    for (int i = 0; i < count; i++) {
                        Socket client = proxy.connect();
                        clients.add(client);
                        served[readTag(client)]++;
                    }
                    assertThat(served[0])
                            .as("held connections on the backend capped at %d", cap)
                            .isEqualTo(cap);
                    assertThat(served[1] + served[2])
                            .as("the rest went to the others")
                            .isEqualTo(count - cap);
                    assertThat(proxy.server().backends("test").get(0).activeConnections())
                            .as("live connections counted on the capped backend")
                            .isEqualTo(cap);
                } finally {
                    for (Socket client : clients) {
                        client.close();
                    }
                }
            }
        }
    }

    /** Opens {@code count} connections one after another; returns how many each backend (by tag) served. */
    private static int[] connectShortLived(RunningProxy proxy, InetAddress source, int count, int backends)
            throws IOException {
        int[] served = new int[backends];
        for (int i = 0; i < count; i++) {
            try (Socket client = proxy.connectFrom(source)) {
                served[readTag(client)]++;
            }
        }
        return served;
    }

    /** Opens {@code count} connections from {@code source}; asserts they all reached one backend and returns it. */
    private static int onlyBackendOf(RunningProxy proxy, InetAddress source, int count) throws IOException {
        int[] served = connectShortLived(proxy, source, count, 3);
        int backend = -1;
        for (int b = 0; b < served.length; b++) {
            if (served[b] > 0) {
                assertThat(backend)
                        .as("source %s reached more than one backend: %s", source, Arrays.toString(served))
                        .isEqualTo(-1);
                backend = b;
            }
        }
        return backend;
    }

    private static void assertSharesMatchWeights(int[] served, int[] weights, double tolerancePoints) {
        int total = 0;
        int weightSum = 0;
        for (int b = 0; b < served.length; b++) {
            total += served[b];
            weightSum += weights[b];
        }
        for (int b = 0; b < served.length; b++) {
            double share = 100.0 * served[b] / total;
            double expected = 100.0 * weights[b] / weightSum;
            assertThat(share)
                    .as(
                            "backend %d (weight %d) served %d of %d = %.2f%%; expected %.2f%% +-%.1f points",
                            b, weights[b], served[b], total, share, expected, tolerancePoints)
                    .isBetween(expected - tolerancePoints, expected + tolerancePoints);
        }
    }

    private static void awaitHealth(RunningProxy proxy, boolean... healthy) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<Backend> now = proxy.server().backends("test");
            for (int b = 0; b < healthy.length; b++) {
                assertThat(now.get(b).healthy()).as("backend %d healthy", b).isEqualTo(healthy[b]);
            }
        });
    }

    private static BackendSpec spec(LoopbackBackend backend, int weight, int maxConnections, boolean backup) {
        return new BackendSpec(HostAndPort.parse("backend", backend.address()), weight, maxConnections, backup);
    }

    /** A route named {@code test} on 127.0.0.1, port 0, over the backends with these weights. */
    private static Route route(BalanceAlgorithm balance, Backends backends, int... weights) {
        List<BackendSpec> specs = new ArrayList<>();
        for (int b = 0; b < weights.length; b++) {
            specs.add(spec(backends.get(b), weights[b], 0, false));
        }
        return TestRoutes.route("test").backendSpecs(specs).balance(balance).build();
    }

    private static Route withBackends(Route r, List<BackendSpec> specs) {
        return TestRoutes.from(r).backendSpecs(specs).build();
    }

    private static Route withHealthCheck(Route r, HealthCheck check) {
        return TestRoutes.from(r).healthCheck(check).build();
    }

    /** Backends on 127.0.0.1 tagged 0, 1, 2, ... in order. */
    private static final class Backends implements AutoCloseable {
        private final List<LoopbackBackend> list = new ArrayList<>();

        static Backends tagAndClose(int count) throws IOException {
            Backends backends = new Backends();
            for (int b = 0; b < count; b++) {
                backends.list.add(LoopbackBackend.restartable(LoopbackBackend.tagAndClose(b)));
            }
            return backends;
        }

        static Backends tagThenEcho(int count) throws IOException {
            Backends backends = new Backends();
            for (int b = 0; b < count; b++) {
                backends.list.add(LoopbackBackend.restartable(LoopbackBackend.tagThenEcho(b)));
            }
            return backends;
        }

        LoopbackBackend get(int index) {
            return list.get(index);
        }

        @Override
        public void close() throws IOException {
            IOException first = null;
            for (LoopbackBackend backend : list) {
                try {
                    backend.close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
