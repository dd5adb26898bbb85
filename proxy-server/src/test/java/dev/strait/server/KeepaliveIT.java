package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.strait.config.TcpKeepalive;
import dev.strait.config.TransportKind;
import dev.strait.server.connection.ProxiedConnection;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.Transports;
import dev.strait.transport.KeepaliveOptions;
import dev.strait.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TCP keepalive on both of Strait's sockets, read back with getsockopt through the live channels: the client's
 * (accepted) and the backend's (connected), on every transport.
 */
class KeepaliveIT {
    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    static Stream<TransportKind> transports() {
        return Transports.available();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void setsTheRoutesKeepaliveTimesOnTheClientAndTheBackendSocket(TransportKind kind) throws Exception {
        TcpKeepalive keepalive = new TcpKeepalive(Duration.ofSeconds(7), Duration.ofSeconds(3), 4);
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            strait.start(
                    kind, TestRoutes.route("test").backends(backend.address()).tcpKeepalive(keepalive));
            try (Socket client = strait.connect()) {
                echoOnce(client);
                KeepaliveOptions options = Transport.select(kind, why -> {}).keepaliveOptions();
                for (Channel side : bothSides()) {
                    assertThat(side.config().getOption(ChannelOption.SO_KEEPALIVE))
                            .as("SO_KEEPALIVE on %s", side)
                            .isTrue();
                    assertThat(side.config().getOption(options.idle()))
                            .as("TCP_KEEPIDLE on %s", side)
                            .isEqualTo(7);
                    assertThat(side.config().getOption(options.interval()))
                            .as("TCP_KEEPINTVL on %s", side)
                            .isEqualTo(3);
                    assertThat(side.config().getOption(options.count()))
                            .as("TCP_KEEPCNT on %s", side)
                            .isEqualTo(4);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void leavesKeepaliveOffOnBothSocketsWhenIdleIsZero(TransportKind kind) throws Exception {
        TcpKeepalive off = new TcpKeepalive(Duration.ZERO, TcpKeepalive.INTERVAL.defaultValue(), 3);
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            strait.start(
                    kind, TestRoutes.route("test").backends(backend.address()).tcpKeepalive(off));
            try (Socket client = strait.connect()) {
                echoOnce(client);
                for (Channel side : bothSides()) {
                    assertThat(side.config().getOption(ChannelOption.SO_KEEPALIVE))
                            .as("SO_KEEPALIVE on %s", side)
                            .isFalse();
                }
            }
        }
    }

    /** A round trip, so that the connection is relaying and both channels exist. */
    private static void echoOnce(Socket client) throws Exception {
        client.getOutputStream().write(new byte[] {42});
        assertThat(Bytes.readExactly(client.getInputStream(), 1)).containsExactly(42);
    }

    /** The relaying connection's client channel and backend channel. */
    private List<Channel> bothSides() {
        await().atMost(Duration.ofSeconds(10)).until(() -> strait.server().connections().snapshot().stream()
                .anyMatch(c -> c.state() instanceof ConnectionState.Relaying));
        ProxiedConnection connection = strait.server().connections().snapshot().get(0);
        ConnectionState.Relaying relaying = (ConnectionState.Relaying) connection.state();
        return List.of(connection.frontend(), relaying.channel());
    }
}
