package dev.strait.server.support;

import dev.strait.config.TransportKind;
import dev.strait.transport.Transport;
import java.util.stream.Stream;

/** The transports this machine can run, for parameterized socket tests (NIO always; epoll and io_uring on Linux). */
public final class Transports {
    private Transports() {}

    public static Stream<TransportKind> available() {
        return Stream.of(TransportKind.NIO, TransportKind.EPOLL, TransportKind.IO_URING)
                .filter(kind -> Transport.select(kind, message -> {}).name().equals(kind.configName()));
    }
}
