package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strait.config.Cidr;
import dev.strait.config.ConfigException;
import dev.strait.config.ConfigValues;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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

    Duration duration(String key, JsonNode node, Duration fallback) {
        return node == null ? fallback : ConfigValues.duration(key, scalar(key, node));
    }

    boolean bool(String key, JsonNode node) {
        String text = scalar(key, node).trim();
        if (text.equals("true") || text.equals("false")) {
            return Boolean.parseBoolean(text);
        }
        throw ConfigException.badValue(key, text, "expected true or false");
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

    int integer(String key, JsonNode node) {
        String text = scalar(key, node);
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw ConfigException.badValue(key, text, "expected a whole number");
        }
    }
}
