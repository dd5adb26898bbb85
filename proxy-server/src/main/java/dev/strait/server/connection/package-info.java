/**
 * One proxied connection, from accept to close: {@link dev.strait.server.connection.FrontendInitializer} asks the
 * route's admission gate, {@link dev.strait.server.connection.FrontendHandler} connects the backend on the client's
 * event loop, then hands both sides to the relay; the {@link dev.strait.server.connection.ConnectionRegistry} tracks
 * every live connection for draining and the admin endpoint.
 *
 * <p>What a whole route shares (runtime, admission gate, counters) lives in {@code dev.strait.server.route}.
 */
package dev.strait.server.connection;
