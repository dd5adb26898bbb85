package dev.strait.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.ClientAuth;
import dev.strait.config.TlsConfig;
import dev.strait.config.TlsProvider;
import dev.strait.server.support.TestPki;
import dev.strait.server.support.TestPki.Issued;
import dev.strait.server.support.TestPki.KeyForm;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerTlsTest {
    @TempDir
    static Path dir;

    static TestPki pki;
    static Issued alpha;
    static Issued beta;
    static Issued plain;

    @BeforeAll
    static void certificates() throws Exception {
        pki = TestPki.create(dir, "ca");
        alpha = pki.issue("alpha", "alpha.test", KeyForm.PKCS1_RSA, "alpha.test");
        beta = pki.issue("beta", "beta.test", KeyForm.SEC1_EC, "*.beta.test");
        plain = pki.issue("plain", "plain.test", KeyForm.PKCS8_EC);
    }

    /** auto is OpenSSL where netty-tcnative loads (it does here: CI runs linux-x86_64); jdk and openssl as asked. */
    @Test
    void autoTakesOpensslWhereItLoadsAndSaysWhyWhenItFallsBack() {
        assertThat(OpenSsl.isAvailable()).isTrue();
        assertThat(ServerTls.load("r", config(alpha)).provider()).isEqualTo(SslProvider.OPENSSL);
        assertThat(Providers.resolve(TlsProvider.AUTO)).isEqualTo(SslProvider.OPENSSL);
        assertThat(Providers.resolve(TlsProvider.JDK)).isEqualTo(SslProvider.JDK);
        assertThat(Providers.resolve(TlsProvider.OPENSSL)).isEqualTo(SslProvider.OPENSSL);
        assertThat(Providers.fallbackReason(TlsProvider.AUTO, SslProvider.OPENSSL))
                .isEmpty();
        assertThat(Providers.fallbackReason(TlsProvider.JDK, SslProvider.JDK)).isEmpty();
        assertThat(Providers.fallbackReason(TlsProvider.AUTO, SslProvider.JDK)).startsWith(" (auto: OpenSSL is");
    }

    @Test
    void readsKeysInPkcs1Sec1AndPkcs8Form() {
        for (Issued i : List.of(alpha, beta, plain)) {
            Pem.requireMatch(Pem.privateKey(i.key()), Pem.certificates(i.cert()).get(0));
        }
        assertThat(Pem.privateKey(alpha.key()).getAlgorithm()).isEqualTo("RSA");
        assertThat(Pem.privateKey(beta.key()).getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void refusesAKeyThatDoesNotMatchItsCertificate() {
        assertThatThrownBy(() -> ServerTls.load("r", TlsConfig.of(alpha.cert(), beta.key())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("tls.certificates[0].key: the key does not match the certificate");
    }

    @Test
    void refusesAMissingFileNamingItsKey() {
        assertThatThrownBy(() -> ServerTls.load("r", TlsConfig.of(dir.resolve("nope.crt"), alpha.key())))
                .hasMessageStartingWith("tls.certificates[0].cert: cannot read");
    }

    @Test
    void refusesAnExpiredCertificateUnlessAllowed() throws Exception {
        Issued old = pki.issueExpired("old", "old.test", "old.test");
        assertThatThrownBy(() -> ServerTls.load("r", TlsConfig.of(old.cert(), old.key())))
                .hasMessageStartingWith("tls.certificates[0].cert: the certificate expired on 2020-01-02");
        TlsConfig allowed = new TlsConfig(
                List.of(new TlsConfig.Certificate(old.cert(), old.key())),
                List.of("TLSv1.3"),
                ClientAuth.NONE,
                Optional.empty(),
                List.of(),
                Duration.ofSeconds(10),
                TlsProvider.JDK,
                true);
        assertThat(ServerTls.load("r", allowed).entries()).hasSize(1);
    }

    @Test
    void picksByExactNameThenOneLabelWildcardThenTheFirst() {
        ServerTls tls = ServerTls.load("r", config(alpha, beta));
        ServerTls.Entry first = tls.entries().get(0);
        ServerTls.Entry second = tls.entries().get(1);

        assertThat(tls.map("alpha.test")).isSameAs(first.context());
        assertThat(tls.map("ALPHA.test")).isSameAs(first.context());
        assertThat(tls.map("x.beta.test")).isSameAs(second.context());
        assertThat(tls.map("a.b.beta.test"))
                .as("a wildcard covers one label only")
                .isSameAs(first.context());
        assertThat(tls.map("other.test")).isSameAs(first.context());
        assertThat(tls.map(null)).as("no SNI").isSameAs(first.context());
        assertThat(second.name()).isEqualTo("*.beta.test");
    }

    @Test
    void reloadsAChangedFileInPlaceAndKeepsTheOldOnABrokenOne() throws Exception {
        Path cert = dir.resolve("live.crt");
        Path key = dir.resolve("live.key");
        Files.copy(alpha.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(alpha.key(), key, StandardCopyOption.REPLACE_EXISTING);
        ServerTls tls = ServerTls.load("r", TlsConfig.of(cert, key));
        tls.check();
        assertThat(leaf(tls).getSubjectX500Principal().getName()).isEqualTo("CN=alpha.test");

        Files.copy(beta.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(beta.key(), key, StandardCopyOption.REPLACE_EXISTING);
        tls.check();
        assertThat(leaf(tls).getSubjectX500Principal().getName()).isEqualTo("CN=beta.test");

        Files.copy(alpha.cert(), cert, StandardCopyOption.REPLACE_EXISTING); // the key is still beta's
        tls.check();
        tls.check();
        assertThat(leaf(tls).getSubjectX500Principal().getName()).as("kept").isEqualTo("CN=beta.test");
        assertThat(tls.reloadFailures()).as("one broken state, counted once").isEqualTo(1);

        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\ngarbage\n");
        tls.check();
        assertThat(leaf(tls).getSubjectX500Principal().getName()).isEqualTo("CN=beta.test");
        assertThat(tls.reloadFailures()).isEqualTo(2);
    }

    @Test
    void followsASymlinkSwapAsKubernetesDoes() throws Exception {
        // A secret volume: name -> ..data/name, ..data -> ..<timestamp>; an update swaps ..data.
        Path volume = Files.createDirectories(dir.resolve("secret"));
        Path v1 = Files.createDirectories(volume.resolve("..v1"));
        Path v2 = Files.createDirectories(volume.resolve("..v2"));
        Files.copy(alpha.cert(), v1.resolve("tls.crt"));
        Files.copy(alpha.key(), v1.resolve("tls.key"));
        Files.copy(beta.cert(), v2.resolve("tls.crt"));
        Files.copy(beta.key(), v2.resolve("tls.key"));
        Path data = volume.resolve("..data");
        Files.createSymbolicLink(data, v1.getFileName());
        Files.createSymbolicLink(volume.resolve("tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(volume.resolve("tls.key"), Path.of("..data/tls.key"));
        ServerTls tls = ServerTls.load("r", TlsConfig.of(volume.resolve("tls.crt"), volume.resolve("tls.key")));
        assertThat(leaf(tls).getSubjectX500Principal().getName()).isEqualTo("CN=alpha.test");

        Path tmp = volume.resolve("..data_tmp");
        Files.createSymbolicLink(tmp, v2.getFileName());
        Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        tls.check();

        assertThat(leaf(tls).getSubjectX500Principal().getName()).isEqualTo("CN=beta.test");
        assertThat(tls.reloadFailures()).isZero();
    }

    private static X509Certificate leaf(ServerTls tls) {
        return tls.entries().get(0).leaf();
    }

    private static TlsConfig config(Issued... certs) {
        return new TlsConfig(
                java.util.Arrays.stream(certs)
                        .map(i -> new TlsConfig.Certificate(i.cert(), i.key()))
                        .toList(),
                List.of("TLSv1.3", "TLSv1.2"),
                ClientAuth.NONE,
                Optional.empty(),
                List.of(),
                Duration.ofSeconds(10),
                TlsProvider.AUTO,
                false);
    }
}
