package dev.strait.server.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports for the few cases that cannot bind port 0 and ask which port they got. */
public final class Ports {
    private Ports() {}

    /**
     * A loopback port nothing listens on right now: for a backend that refuses connections, or for peers (PostgreSQL,
     * Redis, sshd) that cannot report a port 0 bind. Another process may take it meanwhile; the test then fails
     * loudly, it does not pass by accident.
     */
    public static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }
}
