package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A TLS 1.2 client that asks to renegotiate after its handshake is refused and closed, on both providers, as HAProxy
 * and nginx refuse it: BoringSSL never renegotiates on the server side, and Strait tells the JDK's engine to refuse
 * client-initiated renegotiation ({@code jdk.tls.rejectClientInitiatedRenegotiation}), which it otherwise accepts (this
 * test fails on {@code auto} without it). Run against the jar, where that setting is made before any handshake, as
 * users run Strait; nothing sent after the request reaches the backend, and the access log gives the close as
 * {@code tls_error}.
 */
class TlsRenegotiationIT {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"auto", "openssl"})
    void aClientInitiatedRenegotiationIsRefusedAndTheConnectionClosed(String provider) throws Exception {
        TestPki pki = TestPki.create(dir, "ca");
        Issued server = pki.issue("server", "db.test", KeyForm.PKCS8_EC, "db.test");
        try (LoopbackBackend backend = LoopbackBackend.echo()) {
            Path config = Files.writeString(
                    dir.resolve("strait.yaml"),
                    """
                    routes:
                      - name: tls
                        listen: 127.0.0.1:0
                        backends: ["%s"]
                        tls:
                          certificates: [{ cert: %s, key: %s }]
                          provider: %s
                    """
                            .formatted(backend.address(), server.cert(), server.key(), provider));
            try (StraitJar strait = StraitJar.start("renegotiation-" + provider, "--config", config.toString())) {
                int port = strait.awaitListening(1);
                try (SSLSocket client = tls12(pki, port)) {
                    client.getOutputStream().write("before".getBytes(StandardCharsets.US_ASCII));
                    assertThat(new String(client.getInputStream().readNBytes(6), StandardCharsets.US_ASCII))
                            .isEqualTo("before");

                    assertThatThrownBy(() -> {
                                client.startHandshake(); // TLS 1.2: a renegotiation
                                client.getOutputStream().write("after".getBytes(StandardCharsets.US_ASCII));
                                client.getOutputStream().flush();
                                int got = client.getInputStream().read();
                                throw new IOException("the renegotiated connection answered " + got);
                            })
                            .as("the renegotiation is refused and the connection ends")
                            .isInstanceOf(IOException.class)
                            .hasMessageNotContaining("the renegotiated connection answered 97");
                }
                // Closed, not left open, and for the TLS error: Netty's SslHandler closes the channel inside its
                // decode and throws the engine's error after, which must still decide the cause (not client_close).
                strait.awaitLine(
                        Pattern.compile(
                                "event=close .*route=tls .*bytesFromClient=6 bytesFromBackend=6 spliced=false cause=tls_error "));
                strait.terminateAndAssertCleanExit();
            }
        }
    }

    private static SSLSocket tls12(TestPki pki, int port) throws Exception {
        SSLContext context = TestPki.clientContext(pki.caCert(), null);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        socket.setSoTimeout(30_000);
        SSLParameters params = socket.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName("db.test")));
        params.setProtocols(new String[] {"TLSv1.2"});
        socket.setSSLParameters(params);
        socket.startHandshake();
        return socket;
    }
}
