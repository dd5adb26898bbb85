package dev.strait.server.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

/** Small facts and places the end-to-end tests share. */
final class Fixtures {
    private Fixtures() {}

    /** Where subprocess logs go: kept under {@code target/} so a failed CI run can be read afterwards. */
    static Path logFile(Class<?> testClass, String process) {
        return Path.of("target", "e2e-logs", testClass.getSimpleName() + "-" + process + ".log")
                .toAbsolutePath();
    }

    /**
     * A loopback port free right now, for peers that cannot bind port 0 and report it. Another process may
     * take it before the peer binds; the peer then fails to start, loudly.
     */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
