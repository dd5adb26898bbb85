package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Who a {@code healthCheck.type: postgres} probe says it is in its StartupMessage. The probe never authenticates: an
 * authentication request or an error reply already shows a live PostgreSQL, so the user need not exist, though a
 * user that does exist (or password authentication) keeps {@code role does not exist} lines out of the server's log.
 *
 * @param user the {@code user} parameter of the StartupMessage
 * @param database the {@code database} parameter; the loader fills in the user when it is not given, as psql does
 */
public record PostgresLogin(String user, String database) {
    public static final ConfigKey<String> USER =
            ConfigKey.of("healthCheck.postgres.user", "text", "strait", ConfigValues::text);
    public static final ConfigKey<String> DATABASE =
            ConfigKey.optional("healthCheck.postgres.database", "text", ConfigValues::text);
    public static final List<ConfigKey<?>> KEYS = List.of(USER, DATABASE);

    /** User and database {@code strait}. */
    public static final PostgresLogin DEFAULT = new PostgresLogin(USER.defaultValue(), USER.defaultValue());

    public PostgresLogin {
        requireNonNull(user, "user");
        requireNonNull(database, "database");
        if (!valid(user)) {
            throw ConfigException.badValue(USER.name(), user, "1 to 63 characters, no NUL or control characters");
        }
        if (!valid(database)) {
            throw ConfigException.badValue(
                    DATABASE.name(), database, "1 to 63 characters, no NUL or control characters");
        }
    }

    // PostgreSQL truncates identifiers at 63 bytes; a NUL would end the parameter early.
    private static boolean valid(String name) {
        return !name.isEmpty() && name.length() <= 63 && name.chars().noneMatch(c -> c < 0x20 || c == 0x7f);
    }
}
