package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.Timeouts;
import dev.strait.config.WaterMark;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.Clients;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.RunningProxy;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.LeakPresenceDetector;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The relay paths of {@link LeakPresenceIT}, run as a program in a JVM whose leak detector is Netty's
 * {@link LeakPresenceDetector}: it counts every buffer handed out and not released, so after the proxy has stopped
 * the count must be zero, whatever the garbage collector did. With the argument {@code plant} it leaks one buffer on
 * purpose before the check, which must then fail. Exit 0: no buffer left; 3: the check found buffers left.
 */
final class LeakPresenceScenarios {
    private LeakPresenceScenarios() {}

    public static void main(String[] args) throws Exception {
        boolean plant = List.of(args).contains("plant");
        try {
            for (RelayMode mode : RelayMode.available().toList()) {
                relayPaths(mode);
                System.out.println("PASS relay paths on " + mode);
            }
        } catch (Throwable failed) {
            failed.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        if (plant) {
            ByteBufAllocator.DEFAULT.directBuffer(16).writeByte(1); // never released, on purpose
        }
        try {
            LeakPresenceDetector.check();
        } catch (IllegalStateException leaked) {
            System.out.println("LEAK PRESENT: " + leaked.getMessage());
            System.out.flush();
            System.exit(3);
        }
        System.out.println("PASS no buffer left once the proxy stopped");
        System.exit(0);
    }

    /** Echo both ways, a client reset, a backend reset, an unserved client with bytes, an idle close. */
    private static void relayPaths(RelayMode mode) throws Exception {
        int refused;
        try (ServerSocket closed = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            refused = closed.getLocalPort();
        }
        // Restartable backends: a client reset makes the proxy cut the backend with its echo unread (a reset there).
        try (LoopbackBackend echo = LoopbackBackend.restartable(LoopbackBackend.echoHandler());
                LoopbackBackend resetting = LoopbackBackend.restartable(socket -> {
                    socket.getOutputStream().write(new byte[64 * 1024]);
                    socket.setSoLinger(true, 0);
                    socket.close();
                })) {
            try (RunningProxy proxy = RunningProxy.start(
                    mode,
                    new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofSeconds(1)),
                    WaterMark.DEFAULT,
                    echo.address())) {
                for (int i = 0; i < 5; i++) {
                    try (Socket client = proxy.connect()) {
                        byte[] data = new byte[256 * 1024 + i];
                        new SplittableRandom(i).nextBytes(data);
                        client.getOutputStream().write(data);
                        client.shutdownOutput();
                        assertThat(Bytes.readAll(client.getInputStream()).sha256())
                                .isEqualTo(Bytes.digestOf(data).sha256());
                    }
                }
                try (Socket client = proxy.connect()) {
                    client.getOutputStream().write(new byte[128 * 1024]);
                    client.setSoLinger(true, 0); // reset mid-transfer, the echo unread
                }
                try (Socket idle = proxy.connect()) {
                    Clients.assertEchoes(idle, "then silence");
                    assertThat(Clients.ending(idle.getInputStream())).isEqualTo(Clients.Ending.FIN);
                }
            }
            // idle 1s as the docs advise for io_uring, which can miss a reset from a side it is not reading
            try (RunningProxy proxy = RunningProxy.start(
                            mode,
                            new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofSeconds(1)),
                            WaterMark.DEFAULT,
                            resetting.address());
                    Socket client = proxy.connect()) {
                client.getOutputStream().write(1);
                assertThat(Clients.ending(client.getInputStream())).isEqualTo(Clients.Ending.FIN);
            }
            try (RunningProxy proxy = RunningProxy.start(mode, "127.0.0.1:" + refused);
                    Socket client = proxy.connect()) {
                client.getOutputStream().write(new byte[1000]);
                assertThat(Clients.ending(client.getInputStream())).isEqualTo(Clients.Ending.FIN);
            }
        }
    }
}
