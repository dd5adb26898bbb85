package dev.strait.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.TransportKind;
import io.netty.channel.epoll.Epoll;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransportTest {

    @Test
    void autoPicksEpollOnLinuxWhereAvailableElseNio() {
        List<String> fallbacks = new ArrayList<>();
        Transport chosen = Transport.select(TransportKind.AUTO, fallbacks::add);

        assertThat(chosen).isEqualTo(Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO);
        assertThat(fallbacks).isEmpty();
    }

    @Test
    void nioIsAlwaysAvailable() {
        assertThat(Transport.select(TransportKind.NIO, message -> {})).isEqualTo(Transport.NIO);
    }

    @Test
    void aForcedTransportThatIsUnavailableFallsBackAndSaysWhy() {
        List<String> fallbacks = new ArrayList<>();
        Transport chosen = Transport.select(TransportKind.IO_URING, fallbacks::add);

        if (Transport.IO_URING.isAvailable()) {
            assertThat(chosen).isEqualTo(Transport.IO_URING);
            assertThat(fallbacks).isEmpty();
        } else {
            assertThat(chosen.name()).isIn("epoll", "nio");
            assertThat(fallbacks).singleElement().asString().startsWith("transport io_uring is not available");
        }
    }
}
