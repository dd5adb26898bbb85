package dev.strait.server.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM files with the JDK alone: certificate chains, and private keys in PKCS#8 ({@code PRIVATE KEY}), PKCS#1
 * ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}) form, unencrypted. The last two are wrapped into
 * PKCS#8 here, so neither provider needs BouncyCastle. Errors are {@link IllegalArgumentException}s whose message
 * says what is wrong, for a one-line report.
 */
public final class Pem {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 1, 1, 1
    };
    private static final byte[] EC_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 2, 1};

    private Pem() {}

    /** The certificates in {@code file}, leaf first; at least one. */
    public static List<X509Certificate> certificates(Path file) {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(file)) {
                if (b.type.equals("CERTIFICATE")) {
                    out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der)));
                }
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException("not a valid certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no PEM certificate in the file");
        }
        return out;
    }

    /** The one private key in {@code file}. */
    public static PrivateKey privateKey(Path file) {
        for (Block b : blocks(file)) {
            byte[] pkcs8 =
                    switch (b.type) {
                        case "PRIVATE KEY" -> b.der;
                        case "RSA PRIVATE KEY" -> pkcs8(rsaAlgorithm(), b.der);
                        case "EC PRIVATE KEY" -> pkcs8(ecAlgorithm(b.der), b.der);
                        case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException(
                                "an encrypted private key (give the key without a passphrase)");
                        default -> null;
                    };
            if (pkcs8 == null) {
                continue;
            }
            for (String algorithm : List.of("RSA", "EC", "Ed25519", "RSASSA-PSS")) {
                try {
                    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
                } catch (GeneralSecurityException e) {
                    // try the next algorithm
                }
            }
            throw new IllegalArgumentException("a private key of an unsupported kind (RSA or EC expected)");
        }
        throw new IllegalArgumentException("no PEM private key in the file");
    }

    /** Fails unless {@code key} is the private half of {@code cert}'s public key (signs and verifies a nonce). */
    public static void requireMatch(PrivateKey key, X509Certificate cert) {
        PublicKey pub = cert.getPublicKey();
        String algorithm =
                key instanceof ECKey ? "SHA256withECDSA" : key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : null;
        if (algorithm == null) {
            if (!key.getAlgorithm().equals(pub.getAlgorithm())) {
                throw new IllegalArgumentException("the key does not match the certificate");
            }
            return;
        }
        try {
            byte[] nonce = new byte[32];
            new SecureRandom().nextBytes(nonce);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(nonce);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(pub);
            verifier.update(nonce);
            if (!verifier.verify(sig)) {
                throw new IllegalArgumentException("the key does not match the certificate");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the key does not match the certificate (" + e.getMessage() + ")", e);
        }
    }

    private record Block(String type, byte[] der) {}

    private static List<Block> blocks(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException
                    ? "no such file"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.toString();
            throw new IllegalArgumentException("cannot read " + file + ": " + why, e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot read " + file + " as text: " + e.getMessage(), e);
        }
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            try {
                out.add(new Block(
                        m.group(1), Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", ""))));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad base64 in a PEM " + m.group(1) + " block", e);
            }
        }
        return out;
    }

    private static byte[] rsaAlgorithm() {
        return sequence(concat(RSA_OID, new byte[] {0x05, 0x00}));
    }

    /** The AlgorithmIdentifier of a SEC1 key: id-ecPublicKey with the curve named in the key's [0] parameters. */
    private static byte[] ecAlgorithm(byte[] sec1) {
        // ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey OCTET STRING, [0] parameters OID, [1] publicKey }
        Der seq = new Der(sec1, 0);
        if (seq.tag != 0x30) {
            throw new IllegalArgumentException("an EC private key that is not DER SEQUENCE");
        }
        int at = seq.contentStart;
        while (at < seq.end) {
            Der item = new Der(sec1, at);
            if (item.tag == (byte) 0xa0) {
                Der oid = new Der(sec1, item.contentStart);
                byte[] curve = java.util.Arrays.copyOfRange(sec1, oid.start, oid.end);
                return sequence(concat(EC_OID, curve));
            }
            at = item.end;
        }
        throw new IllegalArgumentException("an EC private key without its curve (write it with the curve parameters)");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, algorithm AlgorithmIdentifier, privateKey OCTET STRING }. */
    private static byte[] pkcs8(byte[] algorithm, byte[] key) {
        return sequence(concat(new byte[] {0x02, 0x01, 0x00}, algorithm, tagged((byte) 0x04, key)));
    }

    private static byte[] sequence(byte[] content) {
        return tagged((byte) 0x30, content);
    }

    private static byte[] tagged(byte tag, byte[] content) {
        byte[] len = length(content.length);
        return concat(new byte[] {tag}, len, content);
    }

    private static byte[] length(int n) {
        if (n < 0x80) {
            return new byte[] {(byte) n};
        }
        byte[] raw = BigInteger.valueOf(n).toByteArray();
        int skip = raw[0] == 0 ? 1 : 0;
        byte[] out = new byte[raw.length - skip + 1];
        out[0] = (byte) (0x80 | (raw.length - skip));
        System.arraycopy(raw, skip, out, 1, raw.length - skip);
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** One DER element's bounds: tag, where its content starts, where it ends. */
    private static final class Der {
        final byte tag;
        final int start;
        final int contentStart;
        final int end;

        Der(byte[] der, int at) {
            if (at + 2 > der.length) {
                throw new IllegalArgumentException("a truncated DER key");
            }
            start = at;
            tag = der[at];
            int len = der[at + 1] & 0xff;
            int p = at + 2;
            if (len >= 0x80) {
                int bytes = len & 0x7f;
                if (bytes > 3 || p + bytes > der.length) {
                    throw new IllegalArgumentException("a DER key with a bad length");
                }
                len = 0;
                for (int i = 0; i < bytes; i++) {
                    len = (len << 8) | (der[p++] & 0xff);
                }
            }
            contentStart = p;
            end = p + len;
            if (end > der.length) {
                throw new IllegalArgumentException("a truncated DER key");
            }
        }
    }
}
