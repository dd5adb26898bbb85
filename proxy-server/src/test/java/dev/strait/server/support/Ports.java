package dev.strait.server.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/** Loopback ports for the few cases that cannot bind port 0 and ask which port they got. */
public final class Ports {
    private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    private static final int LOWEST = 10_000;
    private static final int ATTEMPTS = 200;

    private Ports() {}

    /**
     * A loopback port nothing listens on right now: for a backend that refuses connections, or for peers (PostgreSQL,
     * Redis, sshd) that cannot report a port 0 bind.
     *
     * <p>The port is drawn at random from below the kernel's ephemeral range ({@code ip_local_port_range}): a port 0
     * bind (every proxy listener in the tests) and the local end of every outgoing connection come from that range, so
     * the kernel can never hand this port to one of them between this call and its use. (CI runs 3 and 4 of session 5
     * saw a "dead" backend port from the ephemeral range become the proxy's own listener.) Another process may still
     * take it meanwhile; the test then fails loudly, it does not pass by accident.
     */
    public static int freePort() throws IOException {
        int below = ephemeralLow();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        IOException last = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            int port = random.nextInt(LOWEST, below);
            try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return probe.getLocalPort();
            } catch (IOException taken) {
                last = taken;
            }
        }
        throw new IOException("no free loopback port in " + LOWEST + ".." + (below - 1) + " after " + ATTEMPTS, last);
    }

    /** The lowest port the kernel hands out for port 0 binds and outgoing connections (32768 when unknown). */
    static int ephemeralLow() {
        try {
            String[] range = Files.readString(EPHEMERAL_RANGE).trim().split("\\s+");
            int low = Integer.parseInt(range[0]);
            return low > LOWEST + 1_000 ? low : 32_768;
        } catch (IOException | RuntimeException unknown) {
            return 32_768;
        }
    }
}
