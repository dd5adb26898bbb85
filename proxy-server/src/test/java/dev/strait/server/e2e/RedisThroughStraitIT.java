package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.server.support.StraitJar;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Redis clients talking to a real {@code redis-server} through Strait. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RedisThroughStraitIT {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);
    private static final int PIPELINED = 10_000;

    @TempDir
    static Path dir;

    private static RedisServer redis;
    private static StraitJar strait;
    private static int port;

    @BeforeAll
    static void startRedisAndStrait() throws Exception {
        redis = RedisServer.start(dir, Fixtures.logFile(RedisThroughStraitIT.class, "redis"));
        strait = StraitJar.start("RedisThroughStraitIT", "--listen=127.0.0.1:0", "--backend=127.0.0.1:" + redis.port());
        port = strait.awaitListening(1);
    }

    @AfterAll
    static void stopStraitThenRedis() throws Exception {
        Fixtures.stopThenClose(
                strait,
                () -> {
                    try (RespClient client = throughStrait()) {
                        assertThat(client.call("PING")).isEqualTo("PONG");
                    }
                },
                redis);
    }

    @Test
    void setsAndGetsAValue() throws IOException {
        try (RespClient client = throughStrait()) {
            assertThat(client.call("SET", "greeting", "héllo, wörld")).isEqualTo("OK");
            assertThat(client.call("GET", "greeting")).isEqualTo("héllo, wörld");
            assertThat(client.call("GET", "never-set")).isNull();
        }
    }

    @Test
    void answersTenThousandPipelinedCommandsInOrder() throws Exception {
        try (RespClient client = throughStrait()) {
            // Half SETs, then half GETs of the same keys, all in one write; a second thread writes so that
            // replies flowing back can never stall the commands going out.
            ByteArrayOutputStream pipeline = new ByteArrayOutputStream();
            for (int i = 0; i < PIPELINED / 2; i++) {
                pipeline.writeBytes(RespClient.encode("SET", "pipelined:" + i, value(i)));
            }
            for (int i = 0; i < PIPELINED / 2; i++) {
                pipeline.writeBytes(RespClient.encode("GET", "pipelined:" + i));
            }
            CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
                try {
                    client.sendRaw(pipeline.toByteArray());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });

            for (int i = 0; i < PIPELINED / 2; i++) {
                assertThat(client.read()).as("reply to SET #%d", i).isEqualTo("OK");
            }
            for (int i = 0; i < PIPELINED / 2; i++) {
                assertThat(client.read()).as("reply to GET #%d", i).isEqualTo(value(i));
            }
            written.get(READ_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @Test
    void deliversPublishedMessagesToASubscriber() throws IOException {
        try (RespClient subscriber = throughStrait();
                RespClient publisher = throughStrait()) {
            assertThat(subscriber.call("SUBSCRIBE", "news")).isEqualTo(List.of("subscribe", "news", 1L));
            for (int i = 0; i < 100; i++) {
                assertThat(publisher.call("PUBLISH", "news", "item " + i))
                        .as("subscribers reached by PUBLISH #%d", i)
                        .isEqualTo(1L);
            }
            // The subscriber sends nothing more: each message is a push from the server.
            for (int i = 0; i < 100; i++) {
                assertThat(subscriber.read()).isEqualTo(List.of("message", "news", "item " + i));
            }
        }
    }

    private static RespClient throughStrait() throws IOException {
        return new RespClient(port, READ_TIMEOUT);
    }

    private static String value(int i) {
        return "value-" + i + "-" + "x".repeat(i % 97);
    }
}
