package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.Timeouts;
import dev.strait.config.TransportKind;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The black-hole checks of {@link BlackHoleIT}, run as a program inside a private network namespace (iptables rules
 * added here touch only that namespace). One {@code PASS name figures} line per scenario; a failed assertion ends the
 * program with a non-zero exit code. Every deadline is 2 s; "2 s +/- 20%" is the promise for the connect timeout, the
 * mid-stream cases allow up to 3x because their clock starts at the client's last write.
 */
final class BlackHoleScenarios {
    static final int COUNT = 4;
    private static final Duration DEADLINE = Duration.ofSeconds(2);
    private static final long LOW = DEADLINE.toMillis() * 8 / 10;
    private static final long HIGH = DEADLINE.toMillis() * 12 / 10;

    private BlackHoleScenarios() {}

    public static void main(String[] args) throws Exception {
        try {
            warmUp();
            connectTimeoutClosesTheClientAtTheDeadline();
            retryReachesTheLiveBackendAfterTheBlackHole();
            backendVanishingMidStreamEndsAtTheIdleTimeout();
            backendVanishingAfterTheClientFinEndsAtTheClientFinTimeout();
            // Netty reports a leak when an allocation follows the leaked buffer's collection.
            System.gc();
            try (LoopbackBackend echo = LoopbackBackend.echo();
                    RunningProxy proxy = RunningProxy.start(TransportKind.AUTO, echo.address())) {
                for (int i = 0; i < 20; i++) {
                    try (Socket client = proxy.connect()) {
                        Clients.assertEchoes(client, "after gc " + i);
                    }
                }
            }
        } catch (Throwable failed) {
            failed.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.exit(0);
    }

    /**
     * Runs the paths the timed scenarios take once, untimed (a refused backend's unserved close, a relay), so class
     * loading and the JIT of a fresh JVM on a busy machine do not count against a +/- 20% window.
     */
    private static void warmUp() throws Exception {
        int refused;
        try (ServerSocket closed = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            refused = closed.getLocalPort();
        }
        try (LoopbackBackend echo = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        TestRoutes.route("test")
                                .backends("127.0.0.1:" + refused, echo.address())
                                .retries(0)
                                .build())) {
            for (int i = 0; i < 10; i++) {
                try (Socket client = proxy.connect()) {
                    client.setSoTimeout(10_000);
                    client.getOutputStream().write("warm".getBytes(StandardCharsets.UTF_8));
                    client.shutdownOutput();
                    if (Clients.ending(client.getInputStream()) == Clients.Ending.OPEN) {
                        throw new AssertionError("warm-up client " + i + " neither served nor closed");
                    }
                }
            }
        }
    }

    /** retries 0, connect 2s, the backend's SYNs dropped: the client gets a FIN at 2 s +/- 20%. */
    private static void connectTimeoutClosesTheClientAtTheDeadline() throws Exception {
        try (ServerSocket hole = blackHole();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        TestRoutes.route("test")
                                .backends(address(hole))
                                .retries(0)
                                .timeouts(new Timeouts(DEADLINE, Duration.ZERO))
                                .build());
                Socket client = proxy.connect()) {
            long start = System.nanoTime();
            client.getOutputStream().write("never forwarded".getBytes(StandardCharsets.UTF_8));
            Clients.Ending ending = Clients.ending(client.getInputStream());
            long millis = millisSince(start);
            assertThat(ending).as("how the client's connection ended").isEqualTo(Clients.Ending.FIN);
            assertThat(millis)
                    .as("client closed at timeouts.connect (2s +/- 20%)")
                    .isBetween(LOW, HIGH);
            assertNothingReached(hole);
            System.out.printf("PASS connect-timeout closed the client after %d ms (FIN)%n", millis);
        }
    }

    /** retries 1, backends [black hole, live]: the client is served by the live one after one connect timeout. */
    private static void retryReachesTheLiveBackendAfterTheBlackHole() throws Exception {
        try (ServerSocket hole = blackHole();
                LoopbackBackend live = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        TestRoutes.route("test")
                                .backends(address(hole), live.address())
                                .retries(1)
                                .timeouts(new Timeouts(DEADLINE, Duration.ZERO))
                                .build());
                Socket client = proxy.connect()) {
            long start = System.nanoTime();
            Clients.assertEchoes(client, "served by the second backend");
            long millis = millisSince(start);
            assertThat(millis)
                    .as("round-robin tried the black hole first, for one connect timeout")
                    .isGreaterThanOrEqualTo(LOW);
            assertThat(live.acceptedCount()).isEqualTo(1);
            assertNothingReached(hole);
            System.out.printf("PASS retry served by the live backend after %d ms%n", millis);
        }
    }

    /** idle 2s: the backend's packets all vanish mid-stream; both sides are closed one idle timeout later. */
    private static void backendVanishingMidStreamEndsAtTheIdleTimeout() throws Exception {
        Timeouts idle = new Timeouts(DEADLINE, DEADLINE);
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        TestRoutes.route("test")
                                .backends(backend.address())
                                .timeouts(idle)
                                .build());
                Socket client = proxy.connect()) {
            Clients.assertEchoes(client, "before the black hole");
            dropEverything(backend.port());
            long start = System.nanoTime();
            client.getOutputStream().write("into the black hole".getBytes(StandardCharsets.UTF_8));
            Clients.Ending ending = Clients.ending(client.getInputStream());
            long millis = millisSince(start);
            assertThat(ending).as("how the client's connection ended").isEqualTo(Clients.Ending.FIN);
            assertThat(millis)
                    .as("client closed at timeouts.idle (2s) after its last byte")
                    .isBetween(LOW, 3 * DEADLINE.toMillis());
            System.out.printf("PASS idle closed the client %d ms after its last byte%n", millis);
        }
    }

    /** clientFin 2s, idle off: the client half-closes after the backend vanished; closed one clientFin later. */
    private static void backendVanishingAfterTheClientFinEndsAtTheClientFinTimeout() throws Exception {
        Timeouts fin = new Timeouts(DEADLINE, Duration.ZERO, DEADLINE, Duration.ZERO, Duration.ZERO, Duration.ZERO);
        try (LoopbackBackend backend = LoopbackBackend.echo();
                RunningProxy proxy = RunningProxy.start(
                        TransportKind.AUTO,
                        TestRoutes.route("test")
                                .backends(backend.address())
                                .timeouts(fin)
                                .build());
                Socket client = proxy.connect()) {
            Clients.assertEchoes(client, "before the black hole");
            dropEverything(backend.port());
            long start = System.nanoTime();
            client.shutdownOutput();
            Clients.Ending ending = Clients.ending(client.getInputStream());
            long millis = millisSince(start);
            assertThat(ending).as("how the client's connection ended").isEqualTo(Clients.Ending.FIN);
            assertThat(millis)
                    .as("client closed at timeouts.clientFin (2s) after its FIN")
                    .isBetween(LOW, 3 * DEADLINE.toMillis());
            System.out.printf("PASS clientFin closed the client %d ms after its FIN%n", millis);
        }
    }

    /** A listening socket whose SYNs are dropped: connects to it neither succeed nor get refused. */
    private static ServerSocket blackHole() throws IOException, InterruptedException {
        ServerSocket hole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        iptables("-A", "INPUT", "-p", "tcp", "--dport", Integer.toString(hole.getLocalPort()), "--syn", "-j", "DROP");
        // The rule works: a direct connect times out instead of being accepted.
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hole.getLocalPort()), 500);
            throw new AssertionError("the black hole accepted a direct connect; is iptables working?");
        } catch (SocketTimeoutException expected) {
            // dropped
        }
        return hole;
    }

    /** From now on, every packet to or from this port vanishes (both directions of established connections). */
    private static void dropEverything(int port) throws IOException, InterruptedException {
        iptables("-A", "INPUT", "-p", "tcp", "--dport", Integer.toString(port), "-j", "DROP");
        iptables("-A", "INPUT", "-p", "tcp", "--sport", Integer.toString(port), "-j", "DROP");
    }

    private static void iptables(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("iptables", "-w"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s returns", command).isTrue();
        assertThat(p.exitValue()).as("%s exit code", command).isZero();
    }

    private static void assertNothingReached(ServerSocket hole) throws IOException {
        hole.setSoTimeout(1);
        try (Socket reached = hole.accept()) {
            throw new AssertionError("a connection reached the black hole: " + reached);
        } catch (SocketTimeoutException expected) {
            // nothing in its backlog
        }
    }

    private static String address(ServerSocket socket) {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    private static long millisSince(long start) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }
}
