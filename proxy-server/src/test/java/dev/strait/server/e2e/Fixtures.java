package dev.strait.server.e2e;

import java.nio.file.Path;

/** Small facts and places the end-to-end tests share. */
final class Fixtures {
    private Fixtures() {}

    /** Where subprocess logs go: kept under {@code target/} so a failed CI run can be read afterwards. */
    static Path logFile(Class<?> testClass, String process) {
        return Path.of("target", "e2e-logs", testClass.getSimpleName() + "-" + process + ".log")
                .toAbsolutePath();
    }

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
