package dev.strait.server.support;

import dev.strait.config.TransportKind;
import dev.strait.transport.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The transports this machine can run, for parameterized socket tests (NIO always; epoll and io_uring on Linux).
 *
 * <p>A transport the machine lacks is not dropped silently under CI: with {@code CI=true}, a missing epoll or
 * io_uring fails the run, unless {@code STRAIT_SKIP_EPOLL} / {@code STRAIT_SKIP_IO_URING} is set to the reason (for
 * example, a container runtime that blocks io_uring), which is then printed.
 */
public final class Transports {
    private static final Logger log = LogManager.getLogger(Transports.class);

    private Transports() {}

    public static Stream<TransportKind> available() {
        List<TransportKind> kinds = new ArrayList<>();
        for (TransportKind kind : List.of(TransportKind.NIO, TransportKind.EPOLL, TransportKind.IO_URING)) {
            StringBuilder fallback = new StringBuilder();
            if (Transport.select(kind, fallback::append).name().equals(kind.configName())) {
                kinds.add(kind);
            } else {
                requireUnlessSkipped(kind, fallback.toString());
            }
        }
        return kinds.stream();
    }

    private static void requireUnlessSkipped(TransportKind kind, String why) {
        String skipVariable = "STRAIT_SKIP_" + kind.name();
        String skipReason = System.getenv(skipVariable);
        if (skipReason != null && !skipReason.isBlank()) {
            log.warn("transport {} not tested: {}={}", kind.configName(), skipVariable, skipReason);
        } else if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError("transport " + kind.configName() + " is not available on this CI machine (" + why
                    + "); set " + skipVariable + " to the reason to run without it");
        }
    }
}
