/**
 * The HTTP admin endpoint: liveness and readiness probes, every live connection as JSON, Prometheus metrics, the JSON
 * API under {@code /api/} (connections with filters, closing one, draining or enabling a backend, behind
 * {@code admin.token}) and the live page at {@code /ui}.
 *
 * <p>It runs on the boss event loop, apart from the relay's worker threads, and reads the proxy only through
 * {@link dev.strait.server.admin.ProxyView}, which the server implements; it never imports the server's lifecycle.
 */
package dev.strait.server.admin;
