package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * One key of the config file, stated once next to the record it fills: its name, the type of value it takes and its
 * default. The loader takes the allowed key names and the defaults from these; {@code ConfigReferenceTest} checks
 * {@code docs/configuration.md} against them.
 *
 * <p>A key with a {@code parser} holds one value, and its {@code defaultText} is either {@value #REQUIRED}, {@value
 * #NONE} (absent means absent), or a value written as a user would write it ({@code 30s}, {@code auto}, {@code
 * 32KiB}), which the constructor parses so that a bad default fails at class initialisation. A key without a parser
 * is read by the loader itself (a list, a mapping, or a default it works out, such as {@code route-N}); its {@code
 * defaultText} then only describes the default.
 *
 * @param name the key's path as the reference writes it: {@code workers}, {@code dns.refresh}, {@code
 *     timeouts.connect} (within a route), {@code backends[].weight} (within each item of a list)
 * @param type what the value is, for readers: {@code duration}, {@code integer}, {@code host:port}, ...
 * @param defaultText the default as the reference states it
 * @param parser turns the value's text into its type, naming the given key in errors; null for keys the loader reads
 */
public record ConfigKey<T>(String name, String type, String defaultText, Parser<T> parser) {
    /** The {@code defaultText} of a key that must be given. */
    public static final String REQUIRED = "required";
    /** The {@code defaultText} of a value that may be left out, and then is not there. */
    public static final String NONE = "none";

    /** Parses a value's text; errors are {@link ConfigException}s naming {@code key}. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(String key, String text);
    }

    public ConfigKey {
        requireNonNull(name, "name");
        requireNonNull(type, "type");
        requireNonNull(defaultText, "defaultText");
        if (!name.matches("[A-Za-z]+(\\[])?(\\.[A-Za-z]+(\\[])?)*")) {
            throw new IllegalArgumentException("not a key path: " + name);
        }
        if (parser != null && hasDefault(defaultText)) {
            parser.parse(name, defaultText);
        }
    }

    /** A key with a default, written as a user would write it. */
    public static <T> ConfigKey<T> of(String name, String type, String defaultText, Parser<T> parser) {
        return new ConfigKey<>(name, type, defaultText, requireNonNull(parser, "parser"));
    }

    /** A key that must be given. */
    public static <T> ConfigKey<T> required(String name, String type, Parser<T> parser) {
        return new ConfigKey<>(name, type, REQUIRED, requireNonNull(parser, "parser"));
    }

    /** A key that may be left out, and then is not there. */
    public static <T> ConfigKey<T> optional(String name, String type, Parser<T> parser) {
        return new ConfigKey<>(name, type, NONE, requireNonNull(parser, "parser"));
    }

    /** A key the loader reads itself: a list, a mapping, or a value whose default it works out. */
    public static ConfigKey<Void> readByLoader(String name, String type, String defaultText) {
        return new ConfigKey<>(name, type, defaultText, null);
    }

    /** The last part of the name, as it appears in its YAML mapping: {@code connect} for {@code timeouts.connect}. */
    public String field() {
        return name.substring(name.lastIndexOf('.') + 1).replace("[]", "");
    }

    public boolean isRequired() {
        return defaultText.equals(REQUIRED);
    }

    /** The default value; only for a key with a parser and a default. */
    public T defaultValue() {
        if (parser == null || !hasDefault(defaultText)) {
            throw new IllegalStateException(name + " has no default value");
        }
        return parser.parse(name, defaultText);
    }

    /** The value of {@code text} given for this key at {@code path} (the key's place in the file). */
    public T parse(String path, String text) {
        if (parser == null) {
            throw new IllegalStateException(name + " is read by the loader");
        }
        return parser.parse(path, text);
    }

    /**
     * The field names allowed in the mapping at {@code block} ({@code ""} for the top, {@code "timeouts"}, {@code
     * "backends[]"}): the next part of every key under it.
     */
    public static Set<String> fieldsUnder(String block, Collection<ConfigKey<?>> keys) {
        String prefix = block.isEmpty() ? "" : block + ".";
        Set<String> fields = new TreeSet<>();
        for (ConfigKey<?> key : keys) {
            if (key.name.startsWith(prefix)) {
                String rest = key.name.substring(prefix.length());
                int dot = rest.indexOf('.');
                fields.add((dot < 0 ? rest : rest.substring(0, dot)).replace("[]", ""));
            }
        }
        if (fields.isEmpty()) {
            throw new IllegalArgumentException("no keys under " + block);
        }
        return fields;
    }

    private static boolean hasDefault(String defaultText) {
        return !defaultText.equals(REQUIRED) && !defaultText.equals(NONE);
    }
}
