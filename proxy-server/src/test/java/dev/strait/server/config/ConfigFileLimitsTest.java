package dev.strait.server.config;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strait.config.ConfigException;
import dev.strait.config.ProxyConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The limits on what the loader reads: size, encoding, line length, aliases and nesting. Each file that breaks one is
 * rejected with one line naming the file and the limit; the timeouts turn a regression to a slow parse into a failure
 * rather than a hang.
 */
class ConfigFileLimitsTest {
    private static final String ONE_ROUTE =
            """
            routes:
              - listen: 127.0.0.1:15432
                backends:
                  - 127.0.0.1:5432
            """;

    @TempDir
    Path dir;

    @Test
    @Timeout(10)
    void rejectsAFileOverOneMebibyteNamingItsSizeAndTheLimit() throws IOException {
        Path file = write("big.yaml", ("# padding\n".repeat(5 * 1024 * 1024 / 10)).getBytes(UTF_8));

        assertConfigError(file)
                .hasMessage("--config: \"" + file + "\" is 5242880 bytes; the limit is 1048576 bytes (1 MiB)");
    }

    @Test
    @Timeout(10)
    void readsAFileOfExactlyOneMebibyte() throws IOException {
        StringBuilder text = new StringBuilder(ONE_ROUTE);
        String comment = "# " + "x".repeat(1000) + "\n";
        while (text.length() + comment.length() <= ConfigFile.MAX_BYTES) {
            text.append(comment);
        }
        text.append("#".repeat(ConfigFile.MAX_BYTES - text.length() - 1)).append('\n');
        Path file = write("full.yaml", text.toString().getBytes(UTF_8));

        assertThat(Files.size(file)).isEqualTo(ConfigFile.MAX_BYTES);
        assertThat(load(file).routes()).hasSize(1);
    }

    @Test
    @Timeout(10)
    void rejectsALineLongerThanSixteenKibibytesNamingTheLine() throws IOException {
        String name = "x".repeat(ConfigFile.MAX_BYTES - 100);
        Path file = write("long.yaml", (ONE_ROUTE + "    name: " + name + "\n").getBytes(UTF_8));

        assertConfigError(file)
                .hasMessage("--config: \"" + file + "\" line 5 is " + (name.length() + 10)
                        + " characters long; the limit is 16384 characters per line");
    }

    @Test
    @Timeout(10)
    void acceptsAValueOfNearlyOneMebibyteWrittenOverShortLines() throws IOException {
        String line = "x".repeat(1000);
        int lines = (ConfigFile.MAX_BYTES - 200) / ("        " + line + "\n").length();
        Path file = write(
                "payload.yaml",
                (ONE_ROUTE + "    healthCheck:\n      send: |-\n" + ("        " + line + "\n").repeat(lines))
                        .getBytes(UTF_8));

        ProxyConfig config = load(file);

        assertThat(config.routes().get(0).healthCheck().orElseThrow().send())
                .hasValueSatisfying(send -> assertThat(send).hasSize(lines * (line.length() + 1) - 1));
    }

    @Test
    @Timeout(10)
    void rejectsABillionLaughsBombNamingTheAliasLimit() throws IOException {
        Path file = write(
                "bomb.yaml",
                """
                a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
                b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
                d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
                f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
                g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
                h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
                i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
                routes: *i
                """
                        .getBytes(UTF_8));

        assertConfigError(file)
                .hasMessageStartingWith("--config: \"" + file + "\" exceeds a YAML limit: ")
                .hasMessageContaining("aliases")
                .hasMessageContaining("max=50");
    }

    @Test
    void parsesFiftyAliasesToAListButNotFiftyOne() {
        String fifty =
                "nets: &nets [10.0.0.0/8]\nuses: [" + String.join(", ", Collections.nCopies(50, "*nets")) + "]\n";
        String fiftyOne = fifty.replace("uses: [", "uses: [*nets, ");

        assertThat(YamlTree.read(fifty, "fifty.yaml").get("uses")).hasSize(50);
        assertThatThrownBy(() -> YamlTree.read(fiftyOne, "fifty-one.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("exceeds a YAML limit")
                .hasMessageContaining("max=50");
    }

    @Test
    @Timeout(10)
    void rejectsABombOfFewAliasesThatWouldExpandToMillionsOfValues() {
        StringBuilder text = new StringBuilder("x-0: &a0 [x, x]\n");
        for (int i = 1; i <= 25; i++) {
            text.append("x-%d: &a%d [*a%d, *a%d]\n".formatted(i, i, i - 1, i - 1));
        }

        assertThatThrownBy(() -> YamlTree.read(text.toString(), "bomb.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("--config: \"bomb.yaml\" exceeds a YAML limit: more than 100000 values");
    }

    @Test
    @Timeout(10)
    void rejectsAMappingThatMergesItselfInsteadOfOverflowingTheStack() {
        // Found by ConfigLoaderFuzzTest: the merge recursed without counting against the limits.
        String text = "defaults: &d\n  <<: *d\n" + ONE_ROUTE;

        assertThatThrownBy(() -> YamlTree.read(text, "self-merge.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("--config: \"self-merge.yaml\" exceeds a YAML limit: ")
                .hasMessageContaining("64 levels");
    }

    @Test
    @Timeout(10)
    void rejectsNestingDeeperThanSixtyFourLevels() throws IOException {
        Path file = write(
                "deep.yaml", (ONE_ROUTE + "    allow: " + "[".repeat(5000) + "]".repeat(5000) + "\n").getBytes(UTF_8));

        assertConfigError(file)
                .hasMessageStartingWith("--config: \"" + file + "\" exceeds a YAML limit: ")
                .hasMessageContaining("64");
    }

    @Test
    void rejectsLatin1NamingTheOffsetAndLineOfTheFirstBadByte() throws IOException {
        Path file = write("latin1.yaml", ("# caf\u00e9 au lait\n" + ONE_ROUTE).getBytes(ISO_8859_1));

        assertConfigError(file)
                .hasMessage("--config: \"" + file
                        + "\" is not valid UTF-8: byte 0xE9 at offset 5 (line 1); save the file as UTF-8");
    }

    @Test
    void rejectsBinaryJunkAsNotUtf8() throws IOException {
        byte[] pngHeader = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
        Path file = write("image.yaml", pngHeader);

        assertConfigError(file).hasMessageContaining("is not valid UTF-8: byte 0x89 at offset 0 (line 1)");
    }

    @Test
    void rejectsBinaryThatHappensToBeUtf8NamingTheFirstControlCharacter() throws IOException {
        byte[] elfHeader = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        Path file = write("strait", elfHeader);

        assertConfigError(file)
                .hasMessage("--config: \"" + file + "\" is not valid YAML: character U+007F is not allowed (line 1)");
    }

    @Test
    void reportsABadByteAfterAByteOrderMarkAtItsOffsetInTheFile() throws IOException {
        byte[] text = ("\uFEFF" + ONE_ROUTE + "# \u00ff\n").getBytes(UTF_8);
        text[text.length - 3] = (byte) 0xFF; // the first byte of the two that encode \u00ff
        Path file = write("bom-then-junk.yaml", text);

        assertConfigError(file).hasMessageContaining("byte 0xFF at offset " + (text.length - 3) + " (line 5)");
    }

    @Test
    void acceptsAUtf8ByteOrderMarkAndNonAsciiText() throws IOException {
        Path file = write("bom.yaml", ("\uFEFF# caf\u00e9 \u2192 \uD83D\uDC18\n" + ONE_ROUTE).getBytes(UTF_8));

        assertThat(load(file).routes()).hasSize(1);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static ProxyConfig load(Path file) {
        return new ConfigLoader(Map.of()).load(file);
    }

    /** Asserts that loading the file fails with one line for {@code --config}. */
    private static AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(Path file) {
        return assertThatThrownBy(() -> load(file))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.key()).isEqualTo("--config"))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
