package dev.strait.server.metrics;

import static java.util.Objects.requireNonNull;

import com.sun.management.UnixOperatingSystemMXBean;
import io.netty.util.internal.PlatformDependent;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.function.Consumer;

/**
 * Every metric family of one running server, in one {@link PrometheusRegistry} that the server owns and passes down
 * (routes take their series from here; nothing is static). Base units, {@code _total} on counters (the client adds
 * it), and only {@code route}, {@code backend} and {@code cause} labels: never a client address.
 *
 * <p>Adding a family: call {@link #counter}, {@link #histogram}, {@link #gauge} or {@link #liveCounter} once, where
 * the server is wired, keep the result (for a labelled family, keep the data point of each label value:
 * {@code family.labelValues(route)} looks it up, the data point's {@code inc()} does not allocate), and add a row to
 * the metrics table of {@code docs/configuration.md}. Thread-safe: data points may be updated from any event loop.
 */
public final class ProxyMetrics {
    /** Connect times, in seconds: loopback to a slow WAN. */
    private static final double[] CONNECT_BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
    };
    /** Queue waits, in seconds: none to the longest sensible timeouts.queue. */
    private static final double[] WAIT_BUCKETS = {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    /** Connection lifetimes, in seconds: a health probe to a day-long SSH session. */
    private static final double[] DURATION_BUCKETS = {0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    private final Counter accepted = counter(
            "strait_connections_accepted", "Client connections admitted (counted against the limits).", "route");
    private final Counter closed = counter(
            "strait_connections_closed",
            "Client connections that ended, by close cause (the cause labels of docs/architecture.md).",
            "route",
            "cause");
    private final Counter connectFailures =
            counter("strait_backend_connect_failures", "Backend connection attempts that failed.", "route", "backend");
    private final Counter noBackend =
            counter("strait_no_backend", "Clients closed because no backend accepted.", "route");
    private final Counter denied = counter("strait_denied", "Clients closed by the route's allow/deny lists.", "route");
    private final Counter refused =
            counter("strait_refused", "Clients closed by a connection or accept-rate limit.", "route");
    private final Counter spliceFallbacks = counter(
            "strait_splice_fallbacks",
            "Directions that kept copying because no pipe could be had for splice (descriptors ran out).",
            "route");
    private final Counter acceptErrors = counter(
            "strait_accept_errors",
            "Failed accepts on the route's listeners (descriptors ran out, typically); each pauses that listener 1s.",
            "route");
    private final Histogram connectSeconds = histogram(
            "strait_backend_connect_seconds",
            "Time from starting a backend connect to its success.",
            CONNECT_BUCKETS,
            "route",
            "backend");
    private final Histogram waitSeconds = histogram(
            "strait_queue_wait_seconds",
            "Time an admitted client waited for a slot or a backend (timeouts.queue), observed at close.",
            WAIT_BUCKETS,
            "route");
    private final Histogram durationSeconds = histogram(
            "strait_connection_duration_seconds",
            "Time from accept to close of admitted client connections.",
            DURATION_BUCKETS,
            "route");
    private final CounterDataPoint accessLogDropped =
            counter("strait_access_log_dropped", "Access log lines dropped because the writer's queue was full.");

    /** @param version the version {@code strait_build_info} reports */
    public ProxyMetrics(String version) {
        requireNonNull(version, "version");
        Info.builder()
                .name("strait_build_info")
                .help("The running Strait's version (always 1).")
                .labelNames("version")
                .register(registry)
                .setLabelValues(version);
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof UnixOperatingSystemMXBean unix) {
            gauge("process_open_fds", "Open file descriptors.", g -> g.call(unix.getOpenFileDescriptorCount()));
            gauge("process_max_fds", "The file descriptor limit.", g -> g.call(unix.getMaxFileDescriptorCount()));
        }
        gauge(
                "strait_direct_memory_used_bytes",
                "Direct (off-heap) memory in use: Netty's own count plus the JVM's direct buffer pool.",
                g -> g.call(directMemoryUsed()));
    }

    /** A counter family, registered; without labels, use it as its own data point. */
    public Counter counter(String name, String help, String... labels) {
        return Counter.builder()
                .name(name)
                .help(help)
                .labelNames(labels)
                .withoutExemplars()
                .register(registry);
    }

    /** A counter without labels, registered. */
    public CounterDataPoint counter(String name, String help) {
        return Counter.builder().name(name).help(help).withoutExemplars().register(registry);
    }

    /** A classic histogram family (seconds or bytes, with these bucket bounds), registered. */
    public Histogram histogram(String name, String help, double[] buckets, String... labels) {
        return Histogram.builder()
                .name(name)
                .help(help)
                .labelNames(labels)
                .classicOnly()
                .classicUpperBounds(buckets)
                .withoutExemplars()
                .register(registry);
    }

    /** A gauge read when scraped: {@code values} calls the callback once per label set. */
    public void gauge(String name, String help, Consumer<GaugeWithCallback.Callback> values, String... labels) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labels)
                .callback(values)
                .register(registry);
    }

    /** A counter read when scraped (for totals that include live connections). */
    public void liveCounter(String name, String help, Consumer<CounterWithCallback.Callback> values, String... labels) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .labelNames(labels)
                .callback(values)
                .register(registry);
    }

    // The families counted per connection; a route keeps the data points of its label values.

    public Counter accepted() {
        return accepted;
    }

    public Counter closed() {
        return closed;
    }

    public Counter connectFailures() {
        return connectFailures;
    }

    public Counter noBackend() {
        return noBackend;
    }

    public Counter denied() {
        return denied;
    }

    public Counter refused() {
        return refused;
    }

    public Counter spliceFallbacks() {
        return spliceFallbacks;
    }

    public Counter acceptErrors() {
        return acceptErrors;
    }

    public Histogram connectSeconds() {
        return connectSeconds;
    }

    public Histogram waitSeconds() {
        return waitSeconds;
    }

    public Histogram durationSeconds() {
        return durationSeconds;
    }

    /** An access log line was dropped (the writer's queue was full). */
    public void accessLogDropped() {
        accessLogDropped.inc();
    }

    /** Lines dropped so far. */
    public long accessLogDroppedTotal() {
        return accessLogDropped.getLongValue();
    }

    /** Writes every family in the Prometheus text format. */
    public void write(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }

    /** The content type of what {@link #write} writes. */
    public String contentType() {
        return writer.getContentType();
    }

    private static double directMemoryUsed() {
        long netty = Math.max(0, PlatformDependent.usedDirectMemory());
        long jvm = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if ("direct".equals(pool.getName())) {
                jvm = pool.getMemoryUsed();
            }
        }
        return netty + jvm;
    }
}
