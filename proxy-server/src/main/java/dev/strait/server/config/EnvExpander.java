package dev.strait.server.config;

import static java.util.Objects.requireNonNull;

import dev.strait.config.ConfigException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Expands {@code ${VAR}} and {@code ${VAR:-default}} in config values from an environment map; {@code $$} is a
 * literal {@code $}. An unset variable without a default is an error naming the key.
 */
final class EnvExpander {
    private static final Pattern REFERENCE = Pattern.compile("\\$\\$|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private final Map<String, String> env;

    EnvExpander(Map<String, String> env) {
        this.env = requireNonNull(env, "env");
    }

    String expand(String key, String value) {
        if (value.indexOf('$') < 0) {
            return value;
        }
        Matcher m = REFERENCE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement;
            if (m.group().equals("$$")) {
                replacement = "$";
            } else {
                String name = m.group(1);
                String found = env.get(name);
                if (found == null || (found.isEmpty() && m.group(2) != null)) {
                    if (m.group(2) == null) {
                        throw new ConfigException(
                                key, "environment variable " + name + " is not set (value \"" + value + "\")");
                    }
                    found = m.group(2);
                }
                replacement = found;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }
}
