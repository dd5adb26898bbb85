package dev.strait.server.sni;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.lifecycle.CloseCause;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The ClientHello and PostgreSQL preamble stage under attack: a generated corpus (seeded, so the same cases replay in
 * every build) of mutated hellos and preambles, each fed in random chunks. No exception escapes, nothing leaks
 * (paranoid leak detection fails the build), a rejected connection passes no byte on, and a routed one passes on
 * exactly what it read, minus the requests Strait answered itself. {@code -Dstrait.fuzz.iterations=N} runs a longer
 * campaign on demand.
 */
class SniStageCorpusTest {
    private static final int ITERATIONS = Integer.getInteger("strait.fuzz.iterations", 3000);

    @Test
    void survivesTheTlsCorpus() {
        Random random = new Random(0x5111);
        List<byte[]> seeds = List.of(
                TlsHellos.hello("db1.test", "h2"),
                TlsHellos.hello(null),
                TlsHellos.records(TlsHellos.handshake("a.pg.test", List.of("postgresql"), 1200), 600),
                "GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = mutate(random, seeds.get(random.nextInt(seeds.size())));
            replay(false, random, input, i);
        }
    }

    @Test
    void survivesThePostgresCorpus() {
        Random random = new Random(0x9ee5);
        List<byte[]> seeds = List.of(
                concat(SniStageTest.SSL_REQUEST, TlsHellos.hello("db1.test", "postgresql")),
                concat(SniStageTest.GSSENC_REQUEST, SniStageTest.SSL_REQUEST, TlsHellos.hello("x.pg.test")),
                SniStageTest.STARTUP,
                SniStageTest.CANCEL_REQUEST,
                TlsHellos.hello("db1.test", "postgresql"));
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = mutate(random, seeds.get(random.nextInt(seeds.size())));
            replay(true, random, input, i);
        }
    }

    private static void replay(boolean postgres, Random random, byte[] input, int i) {
        SniStageTest.Run run = new SniStageTest.Run(postgres, random.nextBoolean(), Duration.ZERO);
        int[] cuts = random.ints(random.nextInt(4), 1, Math.max(2, input.length))
                .distinct()
                .sorted()
                .filter(c -> c < input.length)
                .toArray();
        ByteArrayOutputStream passed = new ByteArrayOutputStream();
        int from = 0;
        List<Integer> all = new ArrayList<>();
        Arrays.stream(cuts).forEach(all::add);
        all.add(input.length);
        for (int cut : all) {
            if (!run.channel.isOpen()) {
                break;
            }
            run.send(Arrays.copyOfRange(input, from, cut));
            passed.writeBytes(run.passedOn());
            from = cut;
        }
        run.channel.checkException();
        String answered = run.answered();
        byte[] out = passed.toByteArray();
        if (run.host.closed != null) {
            assertThat(out)
                    .as("case %d: a rejected connection passes nothing on", i)
                    .isEmpty();
            assertThat(run.host.closed).isIn(CloseCause.PROTOCOL_ERROR, CloseCause.NO_BACKEND);
        } else if (run.host.routed) {
            int answeredRequests = answered.length(); // each 'S' or 'N' stood for an 8-byte request not passed on
            byte[] expected = Arrays.copyOfRange(input, 8 * answeredRequests, input.length);
            assertThat(out).as("case %d: what was read goes on untouched", i).isEqualTo(expected);
        }
        run.finish();
    }

    private static byte[] mutate(Random random, byte[] seed) {
        byte[] b = seed.clone();
        switch (random.nextInt(5)) {
            case 0 -> {
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, random.nextInt(b.length + 1));
            case 2 -> b[random.nextInt(b.length)] = (byte) random.nextInt(256);
            case 3 -> b = concat(b, randomBytes(random, random.nextInt(64)));
            default -> {} // the seed as it is
        }
        return b;
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
