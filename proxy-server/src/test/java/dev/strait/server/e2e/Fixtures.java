package dev.strait.server.e2e;

import dev.strait.server.support.StraitJar;
import java.nio.file.Path;

/** Small facts and places the end-to-end tests share. */
final class Fixtures {
    private Fixtures() {}

    /** Where subprocess logs go: kept under {@code target/} so a failed CI run can be read afterwards. */
    static Path logFile(Class<?> testClass, String process) {
        return Path.of("target", "e2e-logs", testClass.getSimpleName() + "-" + process + ".log")
                .toAbsolutePath();
    }

    /** One round trip through the proxy, made at teardown so a buffer leaked by earlier traffic gets reported. */
    @FunctionalInterface
    interface RoundTrip {
        void run() throws Exception;
    }

    /**
     * The teardown every end-to-end class shares: a garbage collection and one round trip so Netty reports any leaked
     * buffer, SIGTERM with exit 0, no leak and no ERROR line, then the peer is closed, even when an earlier step
     * failed. Either may be null (its setup failed).
     */
    static void stopThenClose(StraitJar strait, RoundTrip roundTrip, AutoCloseable peer) throws Exception {
        try {
            if (strait != null) {
                strait.collectGarbage();
                roundTrip.run();
                strait.terminateAndAssertQuietExit();
            }
        } finally {
            try {
                if (strait != null) {
                    strait.close();
                }
            } finally {
                if (peer != null) {
                    peer.close();
                }
            }
        }
    }

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
