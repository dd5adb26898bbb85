package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Cidr;
import dev.strait.config.HostAndPort;
import dev.strait.config.TransportKind;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import dev.strait.server.support.TestThreads;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Allow and deny lists over real loopback sockets, IPv4 (127.0.0.x sources) and IPv6 ({@code ::1}): a client that is
 * not permitted is closed before any backend is contacted and counted as denied; everyone else is relayed byte-exact.
 */
class AccessListIT {
    private static final int DATA = 1024 * 1024;

    @RegisterExtension
    static final TestThreads pool = new TestThreads();

    @Test
    void closesAClientOutsideTheAllowListBeforeAnyBackendIsContacted() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = start(ipv4Listener(), backend, List.of("127.0.0.2/32"), List.of())) {
            try (Socket outsider = proxy.connectFrom(ip("127.0.0.3"))) {
                assertClosedByProxy(outsider);
            }
            assertThat(metrics(proxy).deniedTotal()).isEqualTo(1);
            assertThat(backend.acceptedCount())
                    .as("backend connections for a denied client")
                    .isZero();

            try (Socket insider = proxy.connectFrom(ip("127.0.0.2"))) {
                assertRelaysByteExact(insider, 1);
            }
            assertThat(backend.acceptedCount()).isEqualTo(1);
            assertThat(metrics(proxy).deniedTotal()).isEqualTo(1);
            assertThat(metrics(proxy).refusedTotal()).isZero();
        }
    }

    @Test
    void closesAClientOnTheDenyListAndServesEveryoneElse() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = start(ipv4Listener(), backend, List.of(), List.of("127.0.0.3/32"))) {
            try (Socket denied = proxy.connectFrom(ip("127.0.0.3"))) {
                assertClosedByProxy(denied);
            }
            assertThat(metrics(proxy).deniedTotal()).isEqualTo(1);
            assertThat(backend.acceptedCount())
                    .as("backend connections for a denied client")
                    .isZero();

            try (Socket one = proxy.connectFrom(ip("127.0.0.1"));
                    Socket two = proxy.connectFrom(ip("127.0.0.2"))) {
                assertRelaysByteExact(one, 1);
                assertRelaysByteExact(two, 2);
            }
            assertThat(backend.acceptedCount()).isEqualTo(2);
            assertThat(metrics(proxy).deniedTotal()).isEqualTo(1);
        }
    }

    @Test
    void closesAnIpv6ClientOnTheDenyList() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = start(ipv6Listener(), backend, List.of(), List.of("::1/128"))) {
            try (Socket client = connectIpv6(proxy)) {
                assertClosedByProxy(client);
            }
            assertThat(metrics(proxy).deniedTotal()).isEqualTo(1);
            assertThat(backend.acceptedCount()).isZero();
        }
    }

    @Test
    void servesAnIpv6ClientOnTheAllowList() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = start(ipv6Listener(), backend, List.of("::1/128"), List.of());
                Socket client = connectIpv6(proxy)) {
            assertRelaysByteExact(client, 3);
            assertThat(metrics(proxy).deniedTotal()).isZero();
        }
    }

    @Test
    void neverMatchesAnIpv6ClientAgainstAnIpv4Network() throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            try (RunningProxy allowOnlyIpv4 = start(ipv6Listener(), backend, List.of("0.0.0.0/0"), List.of());
                    Socket client = connectIpv6(allowOnlyIpv4)) {
                assertClosedByProxy(client);
                assertThat(metrics(allowOnlyIpv4).deniedTotal()).isEqualTo(1);
            }
            try (RunningProxy denyIpv4 = start(ipv6Listener(), backend, List.of(), List.of("0.0.0.0/0"));
                    Socket client = connectIpv6(denyIpv4)) {
                assertRelaysByteExact(client, 4);
                assertThat(metrics(denyIpv4).deniedTotal()).isZero();
            }
            assertThat(backend.acceptedCount()).isEqualTo(1);
        }
    }

    private static HostAndPort ipv4Listener() {
        return new HostAndPort("127.0.0.1", 0);
    }

    private static HostAndPort ipv6Listener() {
        return new HostAndPort("::1", 0);
    }

    /** A proxy whose route {@code test} listens on {@code listen} with these allow and deny networks. */
    private static RunningProxy start(
            HostAndPort listen, LoopbackBackend backend, List<String> allow, List<String> deny) throws StartException {
        AccessList access = new AccessList(
                allow.stream().map(c -> Cidr.parse("allow", c)).toList(),
                deny.stream().map(c -> Cidr.parse("deny", c)).toList());
        return RunningProxy.start(
                TransportKind.AUTO,
                TestRoutes.route("test")
                        .listen(listen)
                        .backends(backend.address())
                        .access(access)
                        .build());
    }

    private static Socket connectIpv6(RunningProxy proxy) throws IOException {
        InetSocketAddress listener = proxy.server().boundAddress("test");
        assertThat(listener.getAddress()).isInstanceOf(Inet6Address.class);
        Socket socket = new Socket();
        socket.connect(listener, 5000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static RouteMetrics metrics(RunningProxy proxy) {
        return proxy.server().routeMetrics().get("test");
    }

    /** The proxy closes the client at once: end of stream (or a reset) within 2s, without a byte. */
    private static void assertClosedByProxy(Socket socket) throws IOException {
        socket.setSoTimeout(2000);
        int read;
        try {
            read = socket.getInputStream().read();
        } catch (SocketException reset) {
            read = -1;
        }
        assertThat(read)
                .as("end of stream within 2s for a client that is not permitted")
                .isEqualTo(-1);
    }

    /** Sends {@value #DATA} random bytes and checks the SHA-256 of the echo. */
    private static void assertRelaysByteExact(Socket socket, long seed) throws Exception {
        Future<String> echoed = pool.submit(() -> HexFormat.of()
                .formatHex(
                        MessageDigest.getInstance("SHA-256").digest(Bytes.readExactly(socket.getInputStream(), DATA))));
        String sent = Bytes.writeRandom(socket.getOutputStream(), DATA, 64 * 1024, seed);
        assertThat(echoed.get(30, TimeUnit.SECONDS))
                .as("SHA-256 of %d bytes echoed", DATA)
                .isEqualTo(sent);
    }

    private static InetAddress ip(String literal) throws IOException {
        return InetAddress.getByName(literal);
    }
}
