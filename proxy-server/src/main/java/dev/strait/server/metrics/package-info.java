/**
 * The server's metric families: one Prometheus registry owned by the running server (never a static one), the
 * families that count per connection, and how {@code /metrics} writes them (the official client's text format). A new
 * family is one call to {@link dev.strait.server.metrics.ProxyMetrics#counter} (or {@code histogram}, {@code gauge})
 * where it is counted.
 */
package dev.strait.server.metrics;
