package dev.strait.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.ConfigException;
import java.io.StringReader;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.reader.ReaderException;

/**
 * Parses config text into a Jackson tree within fixed limits, so that no file can make the parser run for seconds or
 * fill the heap; every failure is one {@link ConfigException} line for {@code --config}.
 *
 * <p>The limits and where they hold: a line of at most {@value #MAX_LINE_CHARS} characters, checked here first
 * (SnakeYAML's scanner is quadratic in the length of one token, so a 1 MiB line alone takes seconds); at most
 * {@value ConfigFile#MAX_BYTES} code points, checked by SnakeYAML's scanner; at most {@value #MAX_ALIASES}
 * aliases to lists or mappings and {@value #MAX_DEPTH} levels of nesting, checked by SnakeYAML's composer, which
 * shares an anchored node among its aliases instead of copying it. Only then does {@link YamlNodes} expand aliases
 * and merge keys into the tree, itself capped at {@value YamlNodes#MAX_VALUES} values, so a "billion laughs" file
 * fails in milliseconds.
 */
final class YamlTree {
    /** Longest line, in characters. */
    static final int MAX_LINE_CHARS = 16 * 1024;
    /** Most aliases that point to a list or a mapping: ample for a config's anchors, far too few for a YAML bomb. */
    static final int MAX_ALIASES = 50;
    /** Deepest nesting of lists and mappings; a config needs 5 (routes[0].backends[0].address). */
    static final int MAX_DEPTH = 64;

    private YamlTree() {}

    /** The root node of {@code text}, or null for an empty document; {@code source} names the text in errors. */
    static JsonNode read(String text, String source) {
        requireShortLines(text, source);
        Node root = compose(text, source, loaderOptions());
        return root == null ? null : YamlNodes.tree(root, source);
    }

    /** Runs SnakeYAML's composer over the text, within its alias and nesting limits: the first document's graph. */
    private static Node compose(String text, String source, LoaderOptions options) {
        try {
            Node first = null;
            for (Node node : new Yaml(options).composeAll(new StringReader(text))) {
                first = first == null ? node : first;
            }
            return first;
        } catch (MarkedYAMLException e) {
            throw invalid(source, e);
        } catch (ReaderException e) {
            throw new ConfigException(
                    "--config",
                    "\"" + source + "\" is not valid YAML: character U+"
                            + String.format("%04X", e.getCodePoint()) + " is not allowed (line "
                            + lineOf(text, e.getPosition()) + ")");
        } catch (YAMLException e) {
            throw new ConfigException("--config", "\"" + source + "\" exceeds a YAML limit: " + e.getMessage());
        }
    }

    private static LoaderOptions loaderOptions() {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(ConfigFile.MAX_BYTES);
        options.setMaxAliasesForCollections(MAX_ALIASES);
        options.setNestingDepthLimit(MAX_DEPTH);
        // Checked by SnakeYAML's constructor, which Strait does not run; explicit so that it stays off if it ever does.
        options.setAllowRecursiveKeys(false);
        return options;
    }

    private static void requireShortLines(String text, String source) {
        int line = 1;
        int start = 0;
        for (int i = 0; i <= text.length(); i++) {
            if (i < text.length() && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                continue;
            }
            if (i - start > MAX_LINE_CHARS) {
                throw new ConfigException(
                        "--config",
                        "\"" + source + "\" line " + line + " is " + (i - start) + " characters long; the limit is "
                                + MAX_LINE_CHARS + " characters per line");
            }
            if (i + 1 < text.length() && text.charAt(i) == '\r' && text.charAt(i + 1) == '\n') {
                i++; // CR LF ends one line
            }
            line++;
            start = i + 1;
        }
    }

    private static ConfigException invalid(String source, MarkedYAMLException e) {
        String problem = e.getContext() == null ? e.getProblem() : e.getContext() + ": " + e.getProblem();
        String line = e.getProblemMark() == null
                ? ""
                : " (line " + (e.getProblemMark().getLine() + 1) + ")";
        return new ConfigException("--config", "\"" + source + "\" is not valid YAML: " + oneLine(problem) + line);
    }

    /** The line of the code point at {@code index}, counted as SnakeYAML's reader counts (code points, not chars). */
    private static int lineOf(String text, int index) {
        return 1 + (int) text.codePoints().limit(index).filter(c -> c == '\n').count();
    }

    /** The parser's message without its multi-line excerpt of the file: the problem only, on one line. */
    private static String oneLine(String message) {
        return message.lines()
                .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
                .collect(Collectors.joining(": "));
    }
}
