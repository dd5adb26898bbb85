package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.Limits;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.Transports;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A second proxy cannot take a port the first holds, SO_REUSEPORT or not: it fails to start, and the first keeps
 * serving.
 */
class PortConflictIT {
    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    @ParameterizedTest
    @MethodSource("transports")
    void refusesToStartASecondProxyOnAPortTheFirstHolds(TransportKind transport) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy first = RunningProxy.start(
                        transport,
                        TestRoutes.oneBackend(
                                "test", 0, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE))) {
            int port = first.port();
            Route same = TestRoutes.oneBackend(
                    "test", port, backend.address(), PassiveCheck.DISABLED, Timeouts.DEFAULTS, Limits.NONE);

            StartException failure = startFailure(RunningProxy.config(transport, List.of(same)));

            assertThat(failure)
                    .as("starting a second %s proxy on port %d", transport, port)
                    .hasMessageStartingWith("cannot listen on 127.0.0.1:" + port + " for route test");
            // No listener of the second proxy lingers to take the first one's clients.
            for (int i = 0; i < 20; i++) {
                try (Socket client = first.connect()) {
                    Clients.assertEchoes(client, "client " + i + " of the first proxy");
                }
            }
            assertThat(backend.acceptedCount()).isEqualTo(20);
        }
    }

    /** Starts a proxy expected to fail; if it starts, stops it and fails the test. */
    private static StartException startFailure(ProxyConfig config) {
        ProxyServer started;
        try {
            started = ProxyServer.start(config);
        } catch (StartException expected) {
            return expected;
        }
        InetSocketAddress bound = started.boundAddress(config.routes().get(0).name());
        started.shutdown(Duration.ZERO);
        throw new AssertionError("a second proxy started and listened on " + bound + " (transport "
                + started.transport().name() + ") while the first held it");
    }
}
