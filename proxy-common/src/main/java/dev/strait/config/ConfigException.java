package dev.strait.config;

/**
 * A configuration value that is missing or wrong; the message names the key and the value.
 *
 * <p>Callers show {@link #getMessage()} to the user as one line and exit with status 2.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public ConfigException(String key, String problem) {
        super(key + ": " + problem);
        this.key = key;
    }

    /** The dotted path of the offending key, e.g. {@code routes[0].listen}. */
    public String key() {
        return key;
    }

    /** The same error with the key placed under a parent, e.g. {@code routes[0]} + {@code listen}. */
    public ConfigException under(String parent) {
        String problem = getMessage().substring(key.length() + 2);
        return new ConfigException(parent + "." + key, problem);
    }

    /** Builds the usual "key: bad value "x" (expected ...)" error. */
    public static ConfigException badValue(String key, Object value, String expected) {
        return new ConfigException(key, "bad value \"" + value + "\" (" + expected + ")");
    }
}
