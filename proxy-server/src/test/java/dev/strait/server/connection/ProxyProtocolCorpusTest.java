package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.Cidr;
import dev.strait.config.Limits;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.Route;
import dev.strait.proxyprotocol.ProxyHeader;
import dev.strait.proxyprotocol.ProxyHeaderException;
import dev.strait.proxyprotocol.ProxyHeaderParser;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.proxyprotocol.ProxyProtocolStage;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile input for the PROXY protocol stage: the committed corpus ({@code proxyprotocol/corpus.hex}, made by
 * {@code make-corpus.py} beside it) replayed in every build, then random mutations of it. For each input, split into
 * random reads and ended by a FIN: no exception escapes the pipeline, nothing leaks (paranoid leak detection fails the
 * build), a rejected connection never gets a backend chosen (so no byte can reach one), and an accepted one hands the
 * backend exactly the bytes after the header. More mutations on demand: {@code -Dproxyprotocol.fuzz.iterations=1000000
 * -Dproxyprotocol.fuzz.seed=N}.
 */
class ProxyProtocolCorpusTest {
    private static final int ITERATIONS = Integer.getInteger("proxyprotocol.fuzz.iterations", 3000);
    private static final long SEED = Long.getLong("proxyprotocol.fuzz.seed", 11);

    private final List<String> errors = new ArrayList<>();
    private EmbeddedRoute route;

    @AfterEach
    void finish() {
        route.finish();
    }

    @Test
    void replaysTheCommittedCorpusWithoutAnEscapeALeakOrAByteToABackend() throws Exception {
        route = proxied();
        List<byte[]> corpus = corpus();
        assertThat(corpus).hasSizeGreaterThan(400);
        SplittableRandom random = new SplittableRandom(SEED);
        int accepted = 0;
        for (byte[] input : corpus) {
            accepted += replay(input, random) ? 1 : 0;
        }
        assertThat(accepted).as("inputs with a valid header").isGreaterThanOrEqualTo(9);
        assertThat(errors).as("reasons counted").contains("bad_signature", "malformed", "too_long", "truncated");
    }

    @Test
    void survivesRandomMutationsOfTheCorpus() throws Exception {
        route = proxied();
        List<byte[]> corpus = corpus();
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < ITERATIONS; i++) {
            replay(mutate(corpus.get(random.nextInt(corpus.size())), random), random);
        }
    }

    /** Replays one input; returns whether it was accepted as a header. */
    private boolean replay(byte[] input, SplittableRandom random) {
        Object expected = expectation(input);
        int dialsBefore = route.dials.size();
        int closedBefore = route.closed.size();
        EmbeddedChannel client = route.accept();
        int at = 0;
        while (at < input.length && client.isOpen()) {
            int n = Math.min(input.length - at, 1 + random.nextInt(Math.max(1, input.length / 3 + 1)));
            client.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(input, at, at + n)));
            at += n;
        }
        String what = ByteBufUtil.hexDump(input);
        if (expected instanceof ProxyHeader header) {
            assertThat(route.dials).as("a backend chosen for %s", what).hasSize(dialsBefore + 1);
            route.lastDial().promise().setSuccess();
            assertThat(ProxyProtocolStageTest.read(route.lastDial().channel()))
                    .as("bytes after the header of %s", what)
                    .isEqualTo(Arrays.copyOfRange(input, header.length(), input.length));
            client.checkException();
            client.finishAndReleaseAll();
            return true;
        }
        if (client.isOpen()) {
            client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE); // a FIN mid-header
        }
        client.checkException();
        assertThat(client.isOpen()).as("open after %s and a FIN", what).isFalse();
        assertThat(route.dials).as("a backend chosen for rejected %s", what).hasSize(dialsBefore);
        assertThat(((ConnectionState.Closed) route.closed.get(closedBefore).state()).cause())
                .isEqualTo(CloseCause.PROXY_PROTOCOL_ERROR);
        client.finishAndReleaseAll();
        return false;
    }

    /** The parser's verdict on the whole input: a header, an exception, or null (incomplete). */
    private static Object expectation(byte[] input) {
        try {
            return ProxyHeaderParser.parse(Unpooled.wrappedBuffer(input));
        } catch (ProxyHeaderException e) {
            return e;
        }
    }

    private static byte[] mutate(byte[] input, SplittableRandom random) {
        byte[] out = input.clone();
        int ops = 1 + random.nextInt(3);
        for (int k = 0; k < ops; k++) {
            switch (random.nextInt(4)) {
                case 0 -> {
                    if (out.length > 0) {
                        out[random.nextInt(out.length)] = (byte) random.nextInt(256);
                    }
                }
                case 1 -> out = Arrays.copyOf(out, random.nextInt(out.length + 1));
                case 2 -> {
                    byte[] grown = Arrays.copyOf(out, out.length + 1 + random.nextInt(16));
                    for (int i = out.length; i < grown.length; i++) {
                        grown[i] = (byte) random.nextInt(256);
                    }
                    out = grown;
                }
                default -> {
                    if (out.length >= 16) {
                        out[14] = (byte) random.nextInt(256);
                        out[15] = (byte) random.nextInt(256);
                    }
                }
            }
        }
        return out;
    }

    /** Every line of the corpus: the header bytes followed by the payload bytes. */
    static List<byte[]> corpus() throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (InputStream in = ProxyProtocolCorpusTest.class.getResourceAsStream("/proxyprotocol/corpus.hex")) {
            assertThat(in).as("the committed corpus").isNotNull();
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split(" ");
                byte[] header = parts[1].equals("-") ? new byte[0] : ByteBufUtil.decodeHexDump(parts[1]);
                byte[] payload = parts[2].equals("-") ? new byte[0] : ByteBufUtil.decodeHexDump(parts[2]);
                out.add(ProxyProtocolStageTest.concat(header, payload));
            }
        }
        return out;
    }

    private EmbeddedRoute proxied() {
        Duration timeout = Duration.ofSeconds(3);
        Route route = TestRoutes.from(route(
                        1,
                        0,
                        timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO),
                        Limits.NONE,
                        AccessList.OPEN))
                .proxyProtocol(new ProxyProtocol(
                        true, List.of(Cidr.parse("trusted", "127.0.0.0/8")), timeout, ProxyHeaderVersion.OFF))
                .build();
        return new EmbeddedRoute(route, List.of(ProxyProtocolStage.factory(timeout, errors::add)));
    }
}
