/**
 * The HTTP admin endpoint: liveness and readiness probes, every live connection as JSON, and Prometheus metrics.
 *
 * <p>It runs on the boss event loop, apart from the relay's worker threads, and reads the proxy only through
 * {@link dev.strait.server.admin.ProxyView}, which the server implements; it never imports the server's lifecycle.
 */
package dev.strait.server.admin;
