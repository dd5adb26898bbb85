package dev.strait.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The relay tells its listener how each side ended, before it acts on it. */
class RelayListenerTest {
    private final List<String> ends = new ArrayList<>();
    private HalfClosableEmbeddedChannel frontend;
    private HalfClosableEmbeddedChannel backend;

    @BeforeEach
    void pair() {
        frontend = new HalfClosableEmbeddedChannel();
        backend = new HalfClosableEmbeddedChannel();
        RelayListener record = (side, end) -> ends.add(side + " " + end);
        frontend.pipeline()
                .addLast(new RelayHandler(backend, "frontend", Duration.ofSeconds(5), 0, noPipe -> {}, record));
        backend.pipeline().addLast(new RelayHandler(frontend, "backend", Duration.ZERO, 0, noPipe -> {}, record));
    }

    @AfterEach
    void finish() {
        frontend.finishAndReleaseAll();
        backend.finishAndReleaseAll();
    }

    @Test
    void reportsAnIoFailureAsAResetThenTheClose() {
        backend.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertThat(ends).startsWith("backend RESET", "backend CLOSED");
    }

    @Test
    void reportsATlsFailureWrappedByADecoderAsATlsError() {
        frontend.pipeline().fireExceptionCaught(new DecoderException(new SSLException("no renegotiation")));

        assertThat(ends).startsWith("frontend TLS_ERROR", "frontend CLOSED");
    }

    @Test
    void reportsABareTlsFailureAsATlsError() {
        backend.pipeline().fireExceptionCaught(new SSLException("bad record mac"));

        assertThat(ends).startsWith("backend TLS_ERROR", "backend CLOSED");
    }

    @Test
    void reportsAnyOtherFailureAsAnError() {
        frontend.pipeline().fireExceptionCaught(new IllegalStateException("a bug"));

        assertThat(ends).startsWith("frontend ERROR", "frontend CLOSED");
    }

    @Test
    void reportsAFinAndThenTheFinTimeoutOfItsSide() {
        frontend.shutdownInput();
        frontend.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(ends).containsExactly("frontend FIN");

        frontend.advanceTimeBy(5, TimeUnit.SECONDS);
        frontend.runPendingTasks();

        assertThat(ends).startsWith("frontend FIN", "frontend FIN_TIMEOUT");
        assertThat(frontend.isOpen()).isFalse();
    }
}
