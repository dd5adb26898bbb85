package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigKey;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads typed values out of YAML nodes: every scalar is expanded from the environment first, and every error names
 * the key and the value.
 */
final class YamlValues {
    private final EnvExpander env;

    YamlValues(EnvExpander env) {
        this.env = requireNonNull(env, "env");
    }

    List<Cidr> cidrs(String key, JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new ConfigException(key, "expected a list of networks like [10.0.0.0/8, \"2001:db8::/32\"]");
        }
        List<Cidr> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String itemKey = key + "[" + i + "]";
            out.add(Cidr.parse(itemKey, scalar(itemKey, node.get(i))));
        }
        return out;
    }

    /**
     * The value of {@code key} in the mapping {@code block} at {@code blockPath} ({@code ""} at the top level), or the
     * key's default when it is absent; a missing block counts as empty.
     */
    <T> T value(JsonNode block, String blockPath, ConfigKey<T> key) {
        String path = path(blockPath, key);
        JsonNode node = block == null ? null : block.get(key.field());
        if (node == null) {
            if (key.isRequired()) {
                throw new ConfigException(path, "is required");
            }
            return key.defaultValue();
        }
        return key.parse(path, scalar(path, node));
    }

    /** As {@link #value}, for a key without a default: empty when it is absent. */
    <T> Optional<T> optional(JsonNode block, String blockPath, ConfigKey<T> key) {
        JsonNode node = block == null ? null : block.get(key.field());
        if (node == null) {
            return Optional.empty();
        }
        String path = path(blockPath, key);
        return Optional.of(key.parse(path, scalar(path, node)));
    }

    /** Where {@code key} is in the file, e.g. {@code routes[0].timeouts} + {@code connect}. */
    static String path(String blockPath, ConfigKey<?> key) {
        return blockPath.isEmpty() ? key.field() : blockPath + "." + key.field();
    }

    /** The mapping {@code field} of {@code parent} at {@code path}, its keys checked; null when it is absent. */
    static JsonNode block(JsonNode parent, String path, String field, Set<String> allowed) {
        JsonNode node = parent.get(field);
        if (node != null) {
            requireObject(path, node, allowed, path + ".");
        }
        return node;
    }

    static void requireObject(String key, JsonNode node, Set<String> allowed, String childPrefix) {
        if (!node.isObject()) {
            throw new ConfigException(key, "expected a mapping of keys, found \"" + node + "\"");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new ConfigException(
                        childPrefix + name,
                        "unknown key (allowed: "
                                + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    String scalar(String key, JsonNode node) {
        if (node == null || !node.isValueNode() || node.isNull()) {
            throw new ConfigException(
                    key, "expected a single value, found " + (node == null ? "nothing" : "\"" + node + "\""));
        }
        return env.expand(key, node.asText());
    }
}
