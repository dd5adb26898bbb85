package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.BackendSpec;
import dev.strait.config.Cidr;
import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.ProxyProtocol;
import dev.strait.proxyprotocol.ProxyHeader;
import dev.strait.proxyprotocol.ProxyHeaderEncoder;
import dev.strait.proxyprotocol.ProxyHeaderParser;
import dev.strait.server.support.Bytes;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.RelayMode;
import dev.strait.server.support.RunningProxy;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A raw backend behind a route that accepts a PROXY header and sends one on sees exactly one header, naming the
 * client of the header the load balancer sent (random IPv4 and IPv6 addresses and ports), followed by the client's
 * bytes, byte-exact, however they were chunked; on every transport, copying and splicing.
 */
class ProxyProtocolRelayIT {
    private static final int PAYLOAD = 512 * 1024;

    static Stream<RelayMode> modes() {
        return RelayMode.available();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void aRawBackendSeesOneHeaderThenTheClientsBytesByteExact(RelayMode mode) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.start(ProxyProtocolRelayIT::reportHeaderAndDigest)) {
            for (ProxyHeaderVersion send : List.of(ProxyHeaderVersion.V1, ProxyHeaderVersion.V2)) {
                try (RunningProxy proxy = start(mode, send, backend)) {
                    SplittableRandom random = new SplittableRandom(send.ordinal() * 1000L + mode.hashCode());
                    for (int i = 0; i < 6; i++) {
                        InetSocketAddress client = randomAddress(random);
                        InetSocketAddress dest = randomAddress(random);
                        if (client.getAddress().getClass() != dest.getAddress().getClass()) {
                            dest = client;
                        }
                        ProxyHeaderVersion incoming =
                                random.nextBoolean() ? ProxyHeaderVersion.V1 : ProxyHeaderVersion.V2;
                        assertRelayed(proxy, send, incoming, client, dest, random.nextLong());
                    }
                }
            }
        }
    }

    private static void assertRelayed(
            RunningProxy proxy,
            ProxyHeaderVersion send,
            ProxyHeaderVersion incoming,
            InetSocketAddress client,
            InetSocketAddress dest,
            long seed)
            throws Exception {
        ByteBuf header = ProxyHeaderEncoder.encode(incoming, client, dest, Optional.empty(), ByteBufAllocator.DEFAULT);
        byte[] headerBytes = ByteBufUtil.getBytes(header);
        header.release();
        try (Socket socket = proxy.connect()) {
            OutputStream out = socket.getOutputStream();
            int firstChunk = (int) (seed & 0xff);
            byte[] first = Arrays.copyOf(headerBytes, headerBytes.length + firstChunk);
            new SplittableRandom(seed).nextBytes(first); // overwritten below: only the payload part stays random
            System.arraycopy(headerBytes, 0, first, 0, headerBytes.length);
            out.write(first); // the header and the first payload bytes in one write
            String rest = Bytes.writeRandom(out, PAYLOAD, 64 * 1024, seed);
            socket.shutdownOutput();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            String what = in.readUTF();
            byte[] firstPayload = Arrays.copyOfRange(first, headerBytes.length, first.length);
            String expected = send + " " + client + " " + dest + " " + (firstChunk + PAYLOAD);
            assertThat(what).startsWith(expected);
            assertThat(in.readUTF())
                    .as("SHA-256 of the first chunk")
                    .isEqualTo(Bytes.digestOf(firstPayload).sha256());
            assertThat(in.readUTF()).as("SHA-256 of the rest").isEqualTo(rest);
        }
    }

    /**
     * The raw backend: reads everything, parses exactly one header at the start, and answers with the header's
     * version and addresses, how many bytes followed, and the SHA-256 of the first chunk and of the rest.
     */
    private static void reportHeaderAndDigest(Socket socket) throws Exception {
        try (socket) {
            byte[] all = socket.getInputStream().readAllBytes();
            ByteBuf buf = Unpooled.wrappedBuffer(all);
            ProxyHeader header = ProxyHeaderParser.parse(buf);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            if (header == null) {
                out.writeUTF("no header in " + all.length + " bytes");
                out.writeUTF("-");
                out.writeUTF("-");
                return;
            }
            int after = all.length - header.length();
            out.writeUTF((header.version() == 1 ? "V1" : "V2") + " " + header.source() + " " + header.destination()
                    + " " + after);
            // The first chunk's length is known to the client only; the backend reports digests the client can split
            // the same way: it sends the digest of all but the last PAYLOAD bytes, then of those.
            int firstLength = after - PAYLOAD;
            out.writeUTF(Bytes.digestOf(Arrays.copyOfRange(all, header.length(), header.length() + firstLength))
                    .sha256());
            out.writeUTF(Bytes.digestOf(Arrays.copyOfRange(all, header.length() + firstLength, all.length))
                    .sha256());
            out.flush();
        }
    }

    private static RunningProxy start(RelayMode mode, ProxyHeaderVersion send, LoopbackBackend backend)
            throws StartException {
        ProxyConfig base = RunningProxy.config(
                mode.transport(),
                List.of(TestRoutes.route("test")
                        .backendSpecs(List.of(BackendSpec.of(HostAndPort.parse("backend", backend.address()))))
                        .proxyProtocol(new ProxyProtocol(
                                true, List.of(Cidr.parse("trusted", "127.0.0.1/32")), Duration.ofSeconds(10), send))
                        .build()));
        return RunningProxy.start(new ProxyConfig(
                base.transport(),
                mode.splice(),
                base.workers(),
                base.backlog(),
                base.shutdownTimeout(),
                base.admin(),
                base.dns(),
                base.maxConnections(),
                base.routes()));
    }

    private static InetSocketAddress randomAddress(SplittableRandom random) throws Exception {
        byte[] raw = new byte[random.nextBoolean() ? 4 : 16];
        random.nextBytes(raw);
        return new InetSocketAddress(InetAddress.getByAddress(raw), random.nextInt(65536));
    }
}
