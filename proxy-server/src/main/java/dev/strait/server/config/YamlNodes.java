package dev.strait.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Turns SnakeYAML's composed node graph into a Jackson tree, expanding aliases ({@code *name}) and merge keys
 * ({@code <<: *name}, {@code <<: [*a, *b]}) as YAML 1.1 defines them: a mapping's own keys win over merged ones, and
 * an earlier merged mapping wins over a later one.
 *
 * <p>Scalars stay text (a plain {@code ~}, {@code null} or empty value is null), for the loader to parse with the
 * key's own parser. The composer shares an anchored node among its aliases, so expanding them could multiply a small
 * file; the tree is capped at {@value #MAX_VALUES} values and {@value YamlTree#MAX_DEPTH} levels, merged mappings
 * included (which also stops a recursive alias or merge).
 */
final class YamlNodes {
    /** Most values (scalars, lists and mappings) in the expanded tree; a real config has a few hundred. */
    static final int MAX_VALUES = 100_000;

    private final String source;
    private int values;

    private YamlNodes(String source) {
        this.source = source;
    }

    /** The tree of {@code root}; {@code source} names the file in errors. */
    static JsonNode tree(Node root, String source) {
        return new YamlNodes(source).convert(root, 0);
    }

    private JsonNode convert(Node node, int depth) {
        if (++values > MAX_VALUES || depth > YamlTree.MAX_DEPTH) {
            throw new ConfigException(
                    "--config",
                    "\"" + source + "\" exceeds a YAML limit: more than " + MAX_VALUES + " values or "
                            + YamlTree.MAX_DEPTH + " levels once aliases are expanded" + line(node));
        }
        if (node instanceof ScalarNode scalar) {
            return scalar.getTag().equals(Tag.NULL)
                    ? JsonNodeFactory.instance.nullNode()
                    : JsonNodeFactory.instance.textNode(scalar.getValue());
        }
        if (node instanceof SequenceNode sequence) {
            ArrayNode array = JsonNodeFactory.instance.arrayNode();
            for (Node item : sequence.getValue()) {
                array.add(convert(item, depth + 1));
            }
            return array;
        }
        return mapping((MappingNode) node, depth);
    }

    private ObjectNode mapping(MappingNode mapping, int depth) {
        ObjectNode object = JsonNodeFactory.instance.objectNode();
        List<Node> merged = new ArrayList<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node key = tuple.getKeyNode();
            if (key.getTag().equals(Tag.MERGE)) {
                merged.addAll(mergeSources(tuple.getValueNode()));
                continue;
            }
            if (!(key instanceof ScalarNode scalarKey)) {
                throw invalid("a key must be a plain value, not a list or mapping", key);
            }
            String name = scalarKey.getValue();
            if (object.has(name)) {
                throw invalid("duplicate key \"" + name + "\"", key);
            }
            object.set(name, convert(tuple.getValueNode(), depth + 1));
        }
        for (Node source : merged) {
            // Through convert, so that a merge counts against the limits: a mapping that merges itself (or a cycle
            // of merges) ends at the depth limit instead of recursing until the stack overflows.
            ObjectNode from = (ObjectNode) convert(source, depth + 1);
            from.fieldNames().forEachRemaining(name -> {
                if (!object.has(name)) {
                    object.set(name, from.get(name));
                }
            });
        }
        return object;
    }

    /** The mappings a merge key names: one mapping, or a list of them. */
    private List<Node> mergeSources(Node value) {
        List<Node> sources = value instanceof SequenceNode list ? list.getValue() : List.of(value);
        for (Node source : sources) {
            if (!(source instanceof MappingNode)) {
                throw invalid("a merge key (<<) takes a mapping or a list of mappings", source);
            }
        }
        return sources;
    }

    private ConfigException invalid(String problem, Node at) {
        return new ConfigException("--config", "\"" + source + "\" is not valid YAML: " + problem + line(at));
    }

    private static String line(Node node) {
        return node.getStartMark() == null
                ? ""
                : " (line " + (node.getStartMark().getLine() + 1) + ")";
    }
}
