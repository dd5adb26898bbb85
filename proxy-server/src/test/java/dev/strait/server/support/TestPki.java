package dev.strait.server.support;

import dev.strait.config.TlsConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates made at test time with the {@code openssl} CLI (Debian's openssl package), in a directory of the test:
 * never a committed key. A CA signs server and client certificates with the names asked for; keys come in the forms
 * Strait must read (PKCS#8, PKCS#1 RSA, SEC1 EC).
 */
public final class TestPki {
    /** How a key is written. */
    public enum KeyForm {
        /** {@code BEGIN PRIVATE KEY}, EC P-256. */
        PKCS8_EC,
        /** {@code BEGIN RSA PRIVATE KEY}. */
        PKCS1_RSA,
        /** {@code BEGIN EC PRIVATE KEY}. */
        SEC1_EC
    }

    /** A certificate file and its key file. */
    public record Issued(Path cert, Path key) {}

    /**
     * A CA, the EC certificate it signed for {@code db.test}, a route's {@code tls} serving that certificate, and a
     * client context that trusts the CA: the TLS stage tests' common fixture.
     */
    public record DbServer(TestPki pki, Issued cert, TlsConfig tls, SSLContext client) {}

    /** A {@link DbServer} made in {@code dir} (its CA named {@code ca}). */
    public static DbServer dbServer(Path dir) throws Exception {
        TestPki pki = create(dir, "ca");
        Issued cert = pki.issue("db", "db.test", KeyForm.PKCS8_EC, new String[] {"db.test"});
        return new DbServer(pki, cert, TlsConfig.of(cert.cert(), cert.key()), clientContext(pki.caCert(), null));
    }

    private final Path dir;
    private final String caName;
    private final Path caCert;
    private final Path caKey;
    private int serial;

    private TestPki(Path dir, String caName) {
        this.dir = dir;
        this.caName = caName;
        this.caCert = dir.resolve(caName + ".crt");
        this.caKey = dir.resolve(caName + ".key");
    }

    /** A new CA in {@code dir}, named {@code caName} (its files: {@code caName.crt}, {@code caName.key}). */
    public static TestPki create(Path dir, String caName) throws IOException {
        TestPki pki = new TestPki(dir, caName);
        run(
                dir,
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                pki.caKey.toString(),
                "-out",
                pki.caCert.toString(),
                "-days",
                "30",
                "-subj",
                "/CN=" + caName);
        return pki;
    }

    public Path caCert() {
        return caCert;
    }

    /** A certificate for {@code cn} with these DNS names (none: no SAN), valid for 30 days. */
    public Issued issue(String file, String cn, KeyForm form, String... dnsNames) throws IOException {
        return issue(file, cn, form, null, dnsNames);
    }

    /** As {@link #issue}, expired: valid from 2020-01-01 to 2020-01-02. */
    public Issued issueExpired(String file, String cn, String... dnsNames) throws IOException {
        return issue(file, cn, KeyForm.PKCS8_EC, "expired", dnsNames);
    }

    private synchronized Issued issue(String file, String cn, KeyForm form, String expired, String... dnsNames)
            throws IOException {
        Path key = dir.resolve(file + ".key");
        Path csr = dir.resolve(file + ".csr");
        Path cert = dir.resolve(file + ".crt");
        Path ext = dir.resolve(file + ".ext");
        switch (form) {
            case PKCS8_EC -> run(
                    dir,
                    "openssl",
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    key.toString());
            case PKCS1_RSA -> {
                Path pk8 = dir.resolve(file + ".pk8");
                run(
                        dir,
                        "openssl",
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        "rsa_keygen_bits:2048",
                        "-out",
                        pk8.toString());
                run(dir, "openssl", "rsa", "-in", pk8.toString(), "-traditional", "-out", key.toString());
            }
            case SEC1_EC -> run(
                    dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.toString());
        }
        run(dir, "openssl", "req", "-new", "-key", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
        StringBuilder extensions = new StringBuilder("basicConstraints=CA:FALSE\n");
        if (dnsNames.length > 0) {
            List<String> sans = new ArrayList<>();
            for (String n : dnsNames) {
                sans.add((n.matches("[0-9.]+") ? "IP:" : "DNS:") + n);
            }
            extensions.append("subjectAltName=").append(String.join(",", sans)).append('\n');
        }
        Files.writeString(ext, extensions.toString(), StandardCharsets.US_ASCII);
        serial++;
        if (expired == null) {
            run(
                    dir,
                    "openssl",
                    "x509",
                    "-req",
                    "-in",
                    csr.toString(),
                    "-CA",
                    caCert.toString(),
                    "-CAkey",
                    caKey.toString(),
                    "-set_serial",
                    String.valueOf(serial),
                    "-days",
                    "30",
                    "-extfile",
                    ext.toString(),
                    "-out",
                    cert.toString());
        } else {
            Path db = dir.resolve(caName + ".index");
            Files.writeString(db, "");
            Path conf = dir.resolve(file + ".cnf");
            Files.writeString(
                    conf,
                    String.join(
                            "\n",
                            "[ca]",
                            "default_ca=ca",
                            "[ca]",
                            "database=" + db,
                            "new_certs_dir=" + dir,
                            "certificate=" + caCert,
                            "private_key=" + caKey,
                            "default_md=sha256",
                            "policy=any",
                            "serial=" + dir.resolve(caName + ".serial"),
                            "unique_subject=no",
                            "[any]",
                            "commonName=supplied",
                            ""));
            Files.writeString(dir.resolve(caName + ".serial"), String.format("%02X%n", 100 + serial));
            run(
                    dir,
                    "openssl",
                    "ca",
                    "-batch",
                    "-config",
                    conf.toString(),
                    "-in",
                    csr.toString(),
                    "-out",
                    cert.toString(),
                    "-startdate",
                    "20200101000000Z",
                    "-enddate",
                    "20200102000000Z",
                    "-extfile",
                    ext.toString(),
                    "-notext");
        }
        return new Issued(cert, key);
    }

    /** A client SSLContext that trusts {@code ca} (and presents {@code client} if not null), TLS 1.2 and 1.3. */
    public static SSLContext clientContext(Path ca, Issued client) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (X509Certificate c : dev.strait.server.tls.Pem.certificates(ca)) {
            trust.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (client != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            PrivateKey key = dev.strait.server.tls.Pem.privateKey(client.key());
            keys.setKeyEntry(
                    "client",
                    key,
                    new char[0],
                    dev.strait.server.tls.Pem.certificates(client.cert()).toArray(new X509Certificate[0]));
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    /** Runs a command in {@code dir}; fails with its output if it does not exit 0 within 60s. */
    public static String run(Path dir, String... command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " failed:\n" + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out;
    }
}
