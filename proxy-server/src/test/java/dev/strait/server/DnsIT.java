package dev.strait.server;

import static dev.strait.server.support.Clients.echo;
import static dev.strait.server.support.LoopbackBackend.readTag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.balance.Backend;
import dev.strait.config.DnsConfig;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import dev.strait.config.TransportKind;
import dev.strait.server.support.DnsTestServer;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A backend given by host name follows its DNS answer: new connections go to the addresses the name resolves to now,
 * while connections made earlier keep relaying. The name is served by an in-process DNS server, under {@code .test}.
 */
class DnsIT {
    private static final String NAME = "db.strait.test";
    private static final int FIRST = 1;
    private static final int SECOND = 2;

    private DnsTestServer dns;
    private LoopbackBackend first;
    private LoopbackBackend second;

    @BeforeEach
    void startDnsAndBackends() throws IOException {
        dns = DnsTestServer.start();
        dns.set(NAME, 1, "127.0.0.1");
        // The same port on two loopback addresses, as one service on two hosts.
        first = LoopbackBackend.restartable(InetAddress.getByName("127.0.0.1"), 0, LoopbackBackend.tagThenEcho(FIRST));
        second = LoopbackBackend.restartable(
                InetAddress.getByName("127.0.0.2"), first.port(), LoopbackBackend.tagThenEcho(SECOND));
    }

    @AfterEach
    void stop() throws IOException {
        try {
            second.close();
        } finally {
            try {
                first.close();
            } finally {
                dns.close();
            }
        }
    }

    @Test
    void movesNewConnectionsToTheNewAddressWhileAnEarlierConnectionKeepsRelaying() throws Exception {
        try (RunningProxy proxy = RunningProxy.start(config())) {
            assertThat(servedBy(proxy, 10))
                    .as("connections per backend (127.0.0.1, 127.0.0.2)")
                    .containsExactly(10, 0);
            try (Socket early = proxy.connect()) {
                assertThat(readTag(early)).isEqualTo(FIRST);
                assertThat(echo(early, "before the change")).isEqualTo("before the change");

                dns.set(NAME, 1, "127.0.0.2");
                await().atMost(Duration.ofSeconds(10))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> servedBy(proxy, 1)[1] == 1);

                assertThat(servedBy(proxy, 20))
                        .as("after the change: connections per backend (127.0.0.1, 127.0.0.2)")
                        .containsExactly(0, 20);
                List<Backend> now = proxy.server().backends("test");
                assertThat(now).hasSize(1);
                assertThat(now.get(0).address().getAddress().getHostAddress()).isEqualTo("127.0.0.2");

                assertThat(echo(early, "after the change"))
                        .as("the connection made before the change still relays")
                        .isEqualTo("after the change");
                assertThat(first.liveConnections())
                        .as("it is still open on the old address")
                        .isEqualTo(1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> first.liveConnections() == 0);
        }
    }

    @Test
    void spreadsConnectionsOverEveryAddressTheNameResolvesTo() throws Exception {
        try (RunningProxy proxy = RunningProxy.start(config())) {
            assertThat(proxy.server().backends("test")).hasSize(1);

            dns.set(NAME, 1, "127.0.0.1", "127.0.0.2");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> proxy.server().backends("test").size() == 2);

            int[] served = servedBy(proxy, 100);
            assertThat(served[0] + served[1]).isEqualTo(100);
            for (int b = 0; b < 2; b++) {
                assertThat(served[b])
                        .as("round-robin over both addresses: connections to 127.0.0.%d, expected 50 +-10", b + 1)
                        .isBetween(40, 60);
            }
        }
    }

    /** Opens {@code count} connections one after another; returns how many 127.0.0.1 and 127.0.0.2 served. */
    private static int[] servedBy(RunningProxy proxy, int count) throws IOException {
        int[] served = new int[2];
        for (int i = 0; i < count; i++) {
            try (Socket client = proxy.connect()) {
                served[readTag(client) - FIRST]++;
            }
        }
        return served;
    }

    /** Route {@code test}, round-robin over {@code db.strait.test:<port>}, resolved by the test's DNS server. */
    private ProxyConfig config() {
        Route route = TestRoutes.route("test")
                .backends(new HostAndPort(NAME, first.port()))
                .build();
        HostAndPort server = new HostAndPort("127.0.0.1", dns.address().getPort());
        ProxyConfig defaults = RunningProxy.config(TransportKind.AUTO, List.of(route));
        return new ProxyConfig(
                defaults.transport(),
                defaults.splice(),
                defaults.workers(),
                defaults.backlog(),
                defaults.shutdownTimeout(),
                defaults.admin(),
                new DnsConfig(Duration.ofSeconds(1), List.of(server)),
                defaults.maxConnections(),
                defaults.routes());
    }
}
