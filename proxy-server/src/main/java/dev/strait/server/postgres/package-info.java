/**
 * PostgreSQL's preamble, the messages a client may send before its startup message: {@link
 * dev.strait.server.postgres.PostgresPreamble} reads them, and {@link dev.strait.server.postgres.PostgresPreambleStage}
 * answers them in front of the TLS stage on a route with {@code protocol: postgres} and {@code tls}.
 *
 * <p>The stage is present only on such routes; a plain route's pipeline has no handler from here.
 */
package dev.strait.server.postgres;
