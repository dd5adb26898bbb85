package dev.strait.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.strait.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Any bytes at all given as {@code --config}: the loader returns a config or throws one {@link ConfigException} whose
 * message is a single line (what {@code Main} prints before exiting 2), never any other exception, and within a
 * bounded time (memory is bounded by the test JVM's 1 GiB heap: a blow-up fails as an OutOfMemoryError).
 *
 * <p>{@code make test} replays the committed corpus in {@code ConfigLoaderFuzzTestInputs/anyBytes/} (YAML bombs with
 * anchors and aliases, deep nesting, huge scalars, binary junk, every key with wrong types) plus whatever the fuzzer
 * found and was committed; Jazzer only fuzzes when {@code JAZZER_FUZZ=1} ({@code make fuzz}).
 */
class ConfigLoaderFuzzTest {
    /**
     * Far above what a real file takes (milliseconds; a 300-route file a second or two in a cold JVM on a loaded
     * 2-core machine), far below the minutes an exponential blow-up would take.
     */
    private static final Duration BOUND = Duration.ofSeconds(20);

    private static final ConfigLoader LOADER = new ConfigLoader(Map.of("STRAIT_PORT", "15432", "EMPTY", ""));

    @FuzzTest(maxDuration = "5m")
    void anyBytes(byte[] input) throws IOException {
        Path file = Files.createTempFile("strait-fuzz", ".yaml");
        try {
            Files.write(file, input);
            long start = System.nanoTime();
            try {
                assertThat(LOADER.load(file)).isNotNull();
            } catch (ConfigException rejected) {
                assertThat(rejected.getMessage())
                        .as("one line for the operator")
                        .isNotBlank()
                        .doesNotContain("\n", "\r");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start))
                    .as("time to load %d bytes", input.length)
                    .isLessThan(BOUND);
        } finally {
            Files.delete(file);
        }
    }
}
