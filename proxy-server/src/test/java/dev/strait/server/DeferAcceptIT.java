package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.Transports;
import dev.strait.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code deferAccept} over real loopback sockets: TCP_DEFER_ACCEPT read back with getsockopt from every listener socket
 * of the route (epoll and io_uring), a client that speaks first relayed byte-exact, a silent client held by the kernel
 * and then closed by the route's idle timeout once the kernel hands it over, a reload that changes the value on the
 * running listeners, and NIO, which has no such option, serving the route without it.
 */
class DeferAcceptIT {
    private static final Duration DEFER = Duration.ofSeconds(1);
    private static final Duration IDLE = Duration.ofSeconds(1);

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    static Stream<TransportKind> nativeTransports() {
        return Transports.available().filter(t -> t != TransportKind.NIO);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nativeTransports")
    void setsTcpDeferAcceptOnEveryListenerSocketAndRelaysAClientThatSpeaksFirst(TransportKind kind) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            strait.start(kind, deferred(backend));

            assertThat(listenerDeferAccept(kind))
                    .as("TCP_DEFER_ACCEPT per listener socket")
                    .containsOnly(1);
            assertThat(listenerDeferAccept(kind)).hasSize(2); // one per worker event loop (SO_REUSEPORT)
            try (Socket client = strait.connect()) {
                Future<Bytes.Digest> echoed = strait.submit(() -> Bytes.readAll(client.getInputStream()));
                String sent = Bytes.writeRandom(client.getOutputStream(), 256 * 1024, 16 * 1024, 14);
                client.shutdownOutput();

                assertThat(echoed.get().sha256()).as("echoed byte-exact").isEqualTo(sent);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nativeTransports")
    void holdsASilentClientInTheKernelThenTheIdleTimeoutClosesIt(TransportKind kind) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            RunningProxy proxy = strait.start(kind, deferred(backend));
            try (Socket silent = strait.connect()) {
                // The kernel keeps the handshake to itself until the first SYN-ACK retransmission (1s): not accepted.
                await().during(Duration.ofMillis(500))
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> proxy.server().connections().size() == 0);

                // Then Linux hands it over all the same, and Strait's own deadline (here timeouts.idle) ends it.
                Clients.assertClosedByProxyWithin(silent, 15_000, "a client that never sends");
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> metricsOfTest().closedTotal(CloseCause.IDLE_TIMEOUT) == 1);
                assertThat(metricsOfTest().acceptedTotal()).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nativeTransports")
    void aReloadChangesDeferAcceptOnTheRunningListeners(TransportKind kind) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            RunningProxy proxy = strait.start(kind, deferred(backend));
            List<Channel> before = proxy.server().listenerChannels("test");
            Route running = proxy.server().config().routes().get(0);

            // 3s is a SYN-ACK retransmission boundary (1s + 2s), so the kernel reports it back unchanged.
            proxy.server()
                    .reload(RunningProxy.config(
                            kind,
                            List.of(TestRoutes.from(running)
                                    .deferAccept(Duration.ofSeconds(3))
                                    .build())));
            assertThat(listenerDeferAccept(kind)).containsOnly(3);
            proxy.server()
                    .reload(RunningProxy.config(
                            kind,
                            List.of(TestRoutes.from(running)
                                    .deferAccept(Duration.ZERO)
                                    .build())));
            assertThat(listenerDeferAccept(kind)).containsOnly(0);

            assertThat(proxy.server().listenerChannels("test"))
                    .as("the same listener sockets")
                    .isEqualTo(before);
            try (Socket client = strait.connect()) {
                Clients.assertEchoes(client, "still relaying");
            }
        }
    }

    @Test
    void nioServesTheRouteWithoutDeferAccept() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            strait.start(TransportKind.NIO, deferred(backend));

            assertThat(Transport.NIO.deferAcceptOption()).isEmpty();
            try (Socket silent = strait.connect()) {
                await().atMost(Duration.ofSeconds(5))
                        .alias("accepted at once: the listener has no TCP_DEFER_ACCEPT")
                        .until(() -> strait.server().connections().size() == 1);
                try (Socket client = strait.connect()) {
                    Clients.assertEchoes(client, "hello");
                }
                InputStream in = silent.getInputStream();
                silent.setSoTimeout(15_000);
                assertThat(in.read()).as("closed by timeouts.idle").isEqualTo(-1);
            }
        }
    }

    private static TestRoutes.Builder deferred(LoopbackBackend backend) {
        return TestRoutes.route("test")
                .backends(backend.address())
                .timeouts(new Timeouts(
                        Timeouts.DEFAULT_CONNECT, IDLE, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO))
                .deferAccept(DEFER);
    }

    /** TCP_DEFER_ACCEPT as getsockopt reports it, for each listener socket of route {@code test}. */
    private List<Integer> listenerDeferAccept(TransportKind kind) {
        ChannelOption<Integer> option =
                Transport.select(kind, why -> {}).deferAcceptOption().orElseThrow();
        return strait.server().listenerChannels("test").stream()
                .map(c -> c.config().getOption(option))
                .toList();
    }

    private RouteMetrics metricsOfTest() {
        return strait.server().routeMetrics().get("test");
    }
}
