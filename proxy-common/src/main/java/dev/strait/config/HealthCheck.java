package dev.strait.config;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Active health checks for a route's backends: every {@code interval} each backend address is probed, on its traffic
 * port or on {@code port}, and the probe must succeed within {@code timeout}. A backend goes down after {@code fall}
 * failed probes in a row and comes back after {@code rise} good ones.
 *
 * <p>What a probe says, one of: a TCP connect alone; {@code send} then a reply that starts with {@code expect} and/or
 * contains {@code expectContains} in its first {@value #MAX_REPLY_BYTES} bytes; an HTTP GET ({@code http}); or
 * PostgreSQL's startup handshake ({@code type: postgres}). The last two send their own request, so they exclude
 * {@code send}, {@code expect} and {@code expectContains}, and each other.
 *
 * <p>A probe closes with a FIN and lets the backend close its side first, so that servers log nothing and no
 * TIME_WAIT collects on the proxy; {@code closeWithReset} brings back the old reset (SO_LINGER 0).
 *
 * @param interval time between probes of one backend
 * @param timeout how long one probe may take
 * @param rise consecutive good probes that bring a down backend back
 * @param fall consecutive failed probes that take a backend down
 * @param send bytes to send after connecting (UTF-8, with \r \n escapes expanded by the loader), if any
 * @param expect bytes the reply must start with, if any
 * @param closeOnDown whether established connections to a backend are closed when it goes down
 * @param port the port to probe on each backend's address instead of its traffic port, if any
 * @param type what the probe speaks: TCP (with the optional exchanges) or PostgreSQL's startup handshake
 * @param http the HTTP check, if any
 * @param expectContains bytes the first {@value #MAX_REPLY_BYTES} bytes of the reply must contain, if any
 * @param postgres the StartupMessage's user and database, for {@code type: postgres}
 * @param closeWithReset whether a probe ends with a reset instead of an orderly close
 */
public record HealthCheck(
        Duration interval,
        Duration timeout,
        int rise,
        int fall,
        Optional<String> send,
        Optional<String> expect,
        boolean closeOnDown,
        Optional<Integer> port,
        HealthCheckType type,
        Optional<HttpCheck> http,
        Optional<String> expectContains,
        PostgresLogin postgres,
        boolean closeWithReset) {

    /** The most of a reply a probe reads; {@code expect} and {@code expectContains} must fit in it. */
    public static final int MAX_REPLY_BYTES = 16 * 1024;

    public static final ConfigKey<Duration> INTERVAL =
            ConfigKey.of("healthCheck.interval", "duration", "2s", ConfigValues::duration);
    public static final ConfigKey<Duration> TIMEOUT =
            ConfigKey.of("healthCheck.timeout", "duration", "1s", ConfigValues::duration);
    public static final ConfigKey<Integer> RISE =
            ConfigKey.of("healthCheck.rise", "integer", "2", ConfigValues::integer);
    public static final ConfigKey<Integer> FALL =
            ConfigKey.of("healthCheck.fall", "integer", "3", ConfigValues::integer);
    public static final ConfigKey<String> SEND = ConfigKey.optional("healthCheck.send", "text", ConfigValues::text);
    public static final ConfigKey<String> EXPECT = ConfigKey.optional("healthCheck.expect", "text", ConfigValues::text);
    public static final ConfigKey<Boolean> CLOSE_ON_DOWN =
            ConfigKey.of("healthCheck.closeOnDown", "true | false", "false", ConfigValues::bool);
    public static final ConfigKey<Integer> PORT =
            ConfigKey.optional("healthCheck.port", "integer", ConfigValues::integer);
    public static final ConfigKey<HealthCheckType> TYPE =
            ConfigKey.of("healthCheck.type", "tcp | postgres", "tcp", HealthCheckType::parse);
    public static final ConfigKey<String> EXPECT_CONTAINS =
            ConfigKey.optional("healthCheck.expectContains", "text", ConfigValues::text);
    public static final ConfigKey<Boolean> CLOSE_WITH_RESET =
            ConfigKey.of("healthCheck.closeWithReset", "true | false", "false", ConfigValues::bool);
    public static final List<ConfigKey<?>> KEYS = Stream.of(
                    List.<ConfigKey<?>>of(
                            INTERVAL,
                            TIMEOUT,
                            RISE,
                            FALL,
                            SEND,
                            EXPECT,
                            CLOSE_ON_DOWN,
                            PORT,
                            TYPE,
                            EXPECT_CONTAINS,
                            CLOSE_WITH_RESET),
                    HttpCheck.KEYS,
                    PostgresLogin.KEYS)
            .flatMap(List::stream)
            .toList();

    public static final HealthCheck DEFAULTS = new HealthCheck(
            INTERVAL.defaultValue(),
            TIMEOUT.defaultValue(),
            RISE.defaultValue(),
            FALL.defaultValue(),
            Optional.empty(),
            Optional.empty(),
            CLOSE_ON_DOWN.defaultValue());

    /** A TCP check on the traffic port with the optional {@code send} and {@code expect}, closing with a FIN. */
    public HealthCheck(
            Duration interval,
            Duration timeout,
            int rise,
            int fall,
            Optional<String> send,
            Optional<String> expect,
            boolean closeOnDown) {
        this(
                interval,
                timeout,
                rise,
                fall,
                send,
                expect,
                closeOnDown,
                Optional.empty(),
                TYPE.defaultValue(),
                Optional.empty(),
                Optional.empty(),
                PostgresLogin.DEFAULT,
                CLOSE_WITH_RESET.defaultValue());
    }

    public HealthCheck {
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(send, "send");
        requireNonNull(expect, "expect");
        requireNonNull(port, "port");
        requireNonNull(type, "type");
        requireNonNull(http, "http");
        requireNonNull(expectContains, "expectContains");
        requireNonNull(postgres, "postgres");
        if (interval.toMillis() < 10) {
            throw ConfigException.badValue("healthCheck.interval", ConfigValues.format(interval), "at least 10ms");
        }
        if (timeout.toMillis() < 1 || timeout.compareTo(interval) > 0) {
            throw ConfigException.badValue(
                    "healthCheck.timeout", ConfigValues.format(timeout), "between 1ms and the interval");
        }
        if (rise < 1 || rise > 100) {
            throw ConfigException.badValue("healthCheck.rise", rise, "1 to 100");
        }
        if (fall < 1 || fall > 100) {
            throw ConfigException.badValue("healthCheck.fall", fall, "1 to 100");
        }
        if (port.isPresent() && (port.get() < 1 || port.get() > 65535)) {
            throw ConfigException.badValue(PORT.name(), port.get(), "1 to 65535");
        }
        requireFits(EXPECT, expect);
        requireFits(EXPECT_CONTAINS, expectContains);
        if (type == HealthCheckType.POSTGRES && http.isPresent()) {
            throw ConfigException.badValue(TYPE.name(), type.configName(), "not allowed with healthCheck.http");
        }
        String owner = http.isPresent()
                ? "healthCheck.http"
                : type == HealthCheckType.POSTGRES ? "healthCheck.type postgres" : null;
        if (owner != null) {
            refuse(SEND, send, owner);
            refuse(EXPECT, expect, owner);
            refuse(EXPECT_CONTAINS, expectContains, owner);
        }
    }

    /** The port to probe on a backend whose traffic goes to {@code trafficPort}. */
    public int portFor(int trafficPort) {
        return port.orElse(trafficPort);
    }

    private static void requireFits(ConfigKey<String> key, Optional<String> value) {
        if (value.isPresent()
                && (value.get().isEmpty() || value.get().getBytes(StandardCharsets.UTF_8).length > MAX_REPLY_BYTES)) {
            throw ConfigException.badValue(key.name(), shown(value.get()), "1 to " + MAX_REPLY_BYTES + " bytes");
        }
    }

    private static void refuse(ConfigKey<String> key, Optional<String> value, String owner) {
        if (value.isPresent()) {
            throw ConfigException.badValue(
                    key.name(), shown(value.get()), "not allowed with " + owner + ", which sends its own request");
        }
    }

    /** The value on one line, its line breaks written as the config writes them. */
    private static String shown(String value) {
        return value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t");
    }
}
