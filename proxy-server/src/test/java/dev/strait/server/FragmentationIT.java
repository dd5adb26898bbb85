package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.ProxyExtension;
import dev.strait.server.support.RelayMode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Traffic sliced into 1-3 byte writes with small random pauses (TCP_NODELAY, so each slice is its own segment), both
 * ways at once, arrives byte-exact on every transport and splice mode.
 */
class FragmentationIT {
    private static final int BYTES_EACH_WAY = 24 * 1024;

    @RegisterExtension
    final ProxyExtension strait = new ProxyExtension();

    static Stream<RelayMode> modes() {
        return RelayMode.available();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void relaysTinySlicesBothWaysByteExact(RelayMode mode) throws Exception {
        CompletableFuture<Bytes.Digest> backendGot = new CompletableFuture<>();
        CompletableFuture<String> backendSent = new CompletableFuture<>();
        try (LoopbackBackend backend = LoopbackBackend.start(socket -> {
                    try (socket) {
                        socket.setTcpNoDelay(true);
                        Future<Bytes.Digest> reading = strait.submit(() -> Bytes.readAll(socket.getInputStream()));
                        backendSent.complete(writeSliced(socket.getOutputStream(), 2));
                        socket.shutdownOutput();
                        backendGot.complete(reading.get(60, TimeUnit.SECONDS));
                    }
                });
                Socket client = strait.start(mode, backend.address()).connect()) {
            client.setTcpNoDelay(true);
            Future<Bytes.Digest> clientGot = strait.submit(() -> Bytes.readAll(client.getInputStream()));
            String clientSent = writeSliced(client.getOutputStream(), 1);
            client.shutdownOutput();

            Bytes.Digest atBackend = backendGot.get(60, TimeUnit.SECONDS);
            assertThat(atBackend.count()).isEqualTo(BYTES_EACH_WAY);
            assertThat(atBackend.sha256()).isEqualTo(clientSent);
            Bytes.Digest atClient = clientGot.get(60, TimeUnit.SECONDS);
            assertThat(atClient.count()).isEqualTo(BYTES_EACH_WAY);
            assertThat(atClient.sha256()).isEqualTo(backendSent.get(10, TimeUnit.SECONDS));
        }
    }

    /**
     * Writes {@value #BYTES_EACH_WAY} random bytes in slices of 1 to 3, pausing up to 200us after some of them (the
     * pause paces the writer; nothing waits on a condition). Returns their SHA-256.
     */
    private static String writeSliced(OutputStream out, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        MessageDigest digest = sha256();
        byte[] slice = new byte[3];
        int left = BYTES_EACH_WAY;
        while (left > 0) {
            int n = Math.min(left, 1 + random.nextInt(3));
            for (int i = 0; i < n; i++) {
                slice[i] = (byte) random.nextInt(256);
            }
            out.write(slice, 0, n);
            digest.update(slice, 0, n);
            left -= n;
            if (random.nextInt(8) == 0) {
                LockSupport.parkNanos(random.nextInt(200_000));
            }
        }
        out.flush();
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
