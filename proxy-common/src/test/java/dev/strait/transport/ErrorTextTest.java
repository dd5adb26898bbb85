package dev.strait.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class ErrorTextTest {
    @Test
    void dropsTheNativeCallAndErrnoNettyPutsInFront() {
        assertThat(ErrorText.of(new IOException("bind(..) failed with error(-98): Address already in use")))
                .isEqualTo("Address already in use");
        assertThat(ErrorText.of(new ConnectException(
                        "finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:1")))
                .isEqualTo("Connection refused: /127.0.0.1:1");
        assertThat(ErrorText.of(new IOException("connect(..) failed: Connection refused")))
                .isEqualTo("Connection refused");
    }

    @Test
    void keepsOtherMessagesAndNamesAnErrorWithoutOne() {
        assertThat(ErrorText.of(new IOException("Address already in use"))).isEqualTo("Address already in use");
        assertThat(ErrorText.of(new IllegalStateException())).isEqualTo("IllegalStateException");
        assertThat(ErrorText.of(null)).isEqualTo("unknown error");
    }
}
