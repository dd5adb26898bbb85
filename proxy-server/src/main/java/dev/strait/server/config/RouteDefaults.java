package dev.strait.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strait.config.ConfigKey;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import java.util.Set;
import java.util.TreeSet;

/**
 * The top-level {@code defaults:} block, like HAProxy's {@code defaults} section: route keys that every route inherits
 * and may override. Mappings ({@code timeouts}, {@code healthCheck}, ...) merge key by key; a route's own value, a
 * list or a scalar, replaces the inherited one whole.
 */
final class RouteDefaults {
    /** Every route key but {@code name}, which must differ between routes. */
    private static final Set<String> FIELDS = allowed();

    private static final RouteDefaults NONE = new RouteDefaults(null);

    private final ObjectNode defaults;

    private RouteDefaults(ObjectNode defaults) {
        this.defaults = defaults;
    }

    /** The block at {@code defaults}, its keys checked; no block gives defaults that change nothing. */
    static RouteDefaults read(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String key = ProxyConfig.DEFAULTS.name();
        YamlValues.requireObject(key, node, FIELDS, key + ".");
        return new RouteDefaults((ObjectNode) node);
    }

    /** The route mapping with what it leaves out taken from the defaults; anything else is returned as it is. */
    JsonNode under(JsonNode route) {
        if (defaults == null || !(route instanceof ObjectNode own)) {
            return route;
        }
        return merge(defaults, own);
    }

    private static ObjectNode merge(ObjectNode inherited, ObjectNode own) {
        ObjectNode result = inherited.deepCopy();
        own.properties().forEach(field -> {
            JsonNode base = result.get(field.getKey());
            if (base instanceof ObjectNode baseBlock && field.getValue() instanceof ObjectNode ownBlock) {
                result.set(field.getKey(), merge(baseBlock, ownBlock));
            } else {
                result.set(field.getKey(), field.getValue());
            }
        });
        return result;
    }

    private static Set<String> allowed() {
        Set<String> fields = new TreeSet<>(ConfigKey.fieldsUnder("", Route.KEYS));
        fields.remove(Route.NAME.field());
        return fields;
    }
}
