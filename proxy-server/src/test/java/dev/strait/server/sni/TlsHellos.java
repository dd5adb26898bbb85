package dev.strait.server.sni;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/** ClientHellos for tests: synthetic ones of any size and record split, and the JDK's own. */
public final class TlsHellos {
    private TlsHellos() {}

    /** A ClientHello handshake message with this SNI (null: none), ALPN and a key share of {@code keyShare} bytes. */
    public static byte[] handshake(String sni, List<String> alpn, int keyShare) {
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        if (sni != null) {
            byte[] name = sni.getBytes(StandardCharsets.US_ASCII);
            u16(ext, 0);
            u16(ext, name.length + 5);
            u16(ext, name.length + 3);
            ext.write(0);
            u16(ext, name.length);
            ext.writeBytes(name);
        }
        if (!alpn.isEmpty()) {
            ByteArrayOutputStream list = new ByteArrayOutputStream();
            for (String p : alpn) {
                list.write(p.length());
                list.writeBytes(p.getBytes(StandardCharsets.US_ASCII));
            }
            u16(ext, 16);
            u16(ext, list.size() + 2);
            u16(ext, list.size());
            ext.writeBytes(list.toByteArray());
        }
        if (keyShare > 0) { // key_share: one entry of X25519MLKEM768 (0x11ec) with random bytes
            byte[] share = new byte[keyShare];
            new Random(keyShare).nextBytes(share);
            u16(ext, 51);
            u16(ext, keyShare + 6);
            u16(ext, keyShare + 4);
            u16(ext, 0x11ec);
            u16(ext, keyShare);
            ext.writeBytes(share);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, 0x0303);
        body.writeBytes(new byte[32]);
        body.write(32);
        body.writeBytes(new byte[32]);
        u16(body, 4);
        u16(body, 0x1301);
        u16(body, 0x1302);
        body.write(1);
        body.write(0);
        u16(body, ext.size());
        body.writeBytes(ext.toByteArray());
        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        msg.write(1);
        msg.write(body.size() >> 16);
        u16(msg, body.size() & 0xffff);
        msg.writeBytes(body.toByteArray());
        return msg.toByteArray();
    }

    /** {@code handshake} in TLS handshake records of at most {@code recordSize} bytes each. */
    public static byte[] records(byte[] handshake, int recordSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int at = 0; at < handshake.length; at += recordSize) {
            int n = Math.min(recordSize, handshake.length - at);
            out.write(22);
            u16(out, 0x0301);
            u16(out, n);
            out.write(handshake, at, n);
        }
        return out.toByteArray();
    }

    /** A whole ClientHello in one record. */
    public static byte[] hello(String sni, String... alpn) {
        return records(handshake(sni, List.of(alpn), 0), 16384);
    }

    /** The JDK's own first flight as a TLS client asking for {@code sni} and ALPN {@code alpn}. */
    public static byte[] jdkHello(String sni, String alpn) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine engine = context.createSSLEngine(sni, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(sni)));
        parameters.setApplicationProtocols(new String[] {alpn});
        engine.setSSLParameters(parameters);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.beginHandshake();
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        return Arrays.copyOf(out.array(), out.limit());
    }

    private static void u16(ByteArrayOutputStream out, int v) {
        out.write(v >> 8);
        out.write(v);
    }
}
