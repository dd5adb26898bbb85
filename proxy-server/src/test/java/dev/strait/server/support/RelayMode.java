package dev.strait.server.support;

import dev.strait.config.SpliceMode;
import dev.strait.config.TransportKind;
import java.util.stream.Stream;

/** A transport and a splice mode to run a relay test on. */
public record RelayMode(TransportKind transport, SpliceMode splice) {

    /**
     * Every transport this machine runs, copying; on epoll also splicing from the second read on ({@code always})
     * and the default ({@code auto}, which splices bulk transfers).
     */
    public static Stream<RelayMode> available() {
        return Transports.available()
                .flatMap(transport -> transport == TransportKind.EPOLL
                        ? Stream.of(SpliceMode.OFF, SpliceMode.ALWAYS, SpliceMode.AUTO)
                                .map(splice -> new RelayMode(transport, splice))
                        : Stream.of(new RelayMode(transport, SpliceMode.OFF)));
    }

    @Override
    public String toString() {
        return transport.configName() + ", splice " + splice.configName();
    }
}
