package dev.strait.server.accesslog;

import static java.util.Objects.requireNonNull;

import dev.strait.config.AccessLog;
import dev.strait.server.metrics.ProxyMetrics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's access log writers, one per target and format, made when a route first asks for one (at start, or on a
 * reload that names a new file) and kept until shutdown. Thread-safe.
 */
public final class AccessLogs implements AutoCloseable {
    private final ProxyMetrics metrics;
    private final Map<String, AccessLogWriter> writers = new HashMap<>();

    public AccessLogs(ProxyMetrics metrics) {
        this.metrics = requireNonNull(metrics, "metrics");
    }

    /**
     * The logger for a route with this config, or null when its access log is off (then nothing per connection).
     *
     * @throws dev.strait.config.ConfigException naming {@code accessLog.target} if a file cannot be opened
     */
    public synchronized AccessLogger loggerFor(AccessLog config) {
        if (!config.enabled()) {
            return null;
        }
        String key = config.format() + " " + config.target();
        AccessLogWriter writer = writers.get(key);
        if (writer == null) {
            writer = new AccessLogWriter(config.format(), config.target(), metrics).start();
            writers.put(key, writer);
        }
        return new AccessLogger(writer, config.onConnect(), config.periodic());
    }

    /** Reopens every file target before its next line (SIGHUP, for logrotate). */
    public synchronized void reopen() {
        writers.values().forEach(AccessLogWriter::reopen);
    }

    /** Writes what is queued and closes every target. */
    @Override
    public void close() {
        List<AccessLogWriter> all;
        synchronized (this) {
            all = new ArrayList<>(writers.values());
            writers.clear();
        }
        all.forEach(AccessLogWriter::close);
    }
}
