package dev.strait.server.accesslog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.strait.config.AccessLog;
import dev.strait.config.ConfigException;
import dev.strait.server.metrics.ProxyMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessLogWriterTest {
    private final ProxyMetrics metrics = new ProxyMetrics("test");

    @Test
    void dropsAndCountsALineThatFindsTheQueueFullInsteadOfWaiting() {
        // Not started: nothing drains the queue of one.
        AccessLogWriter writer = new AccessLogWriter(AccessLog.Format.TEXT, AccessLog.STDOUT, metrics, 1);

        writer.write(line("a"));
        writer.write(line("b"));
        writer.write(line("c"));

        assertThat(metrics.accessLogDroppedTotal()).isEqualTo(2);
    }

    @Test
    void appendsToTheFileAndWritesWhatIsQueuedBeforeClosing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("access.log");
        Files.writeString(file, "earlier\n");
        AccessLogWriter writer = new AccessLogWriter(AccessLog.Format.TEXT, file.toString(), metrics).start();

        writer.write(line("one"));
        writer.write(line("two"));
        writer.close();

        assertThat(Files.readAllLines(file)).hasSize(3).first().isEqualTo("earlier");
        assertThat(Files.readAllLines(file).get(2)).contains(" route=two ");
    }

    @Test
    void writesToANewFileAfterReopenOnceTheOldOneWasMoved(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("access.log");
        Path rotated = dir.resolve("access.log.1");
        try (AccessLogWriter writer = new AccessLogWriter(AccessLog.Format.JSON, file.toString(), metrics).start()) {
            writer.write(line("before"));
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.size(file) > 0);
            Files.move(file, rotated);

            writer.reopen();
            writer.write(line("after"));

            await().atMost(Duration.ofSeconds(10))
                    .until(() -> Files.exists(file) && Files.readString(file).contains("\"after\""));
        }
        assertThat(Files.readString(rotated)).contains("\"before\"").doesNotContain("\"after\"");
    }

    @Test
    void refusesAFileItCannotOpenNamingTheKey(@TempDir Path dir) {
        String target = dir.resolve("no/such/dir/access.log").toString();

        assertThatThrownBy(() -> new AccessLogWriter(AccessLog.Format.TEXT, target, metrics))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("accessLog.target")
                .hasMessageContaining(target);
    }

    private static AccessLogLine line(String route) {
        return new AccessLogLine(
                "close",
                Instant.EPOCH,
                1,
                route,
                null,
                null,
                null,
                null,
                0,
                0,
                0,
                0,
                0,
                false,
                "client_close",
                "client");
    }
}
