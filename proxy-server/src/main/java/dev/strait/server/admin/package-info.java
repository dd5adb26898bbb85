/**
 * The HTTP admin endpoint: liveness and readiness probes, every live connection as JSON, and Prometheus metrics.
 *
 * <p>It runs on the boss event loop, apart from the relay's worker threads, and only reads the server's state.
 */
package dev.strait.server.admin;
