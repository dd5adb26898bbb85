/**
 * One proxied connection, from accept to close: {@link dev.strait.server.connection.FrontendInitializer} is the
 * pipeline recipe, {@link dev.strait.server.connection.ProxiedConnection} owns the connection (its state, transitions
 * and the one close path), {@link dev.strait.server.connection.BackendConnector} waits for a slot or a backend and
 * connects one on the client's event loop, and {@link dev.strait.server.connection.FrontendHandler} holds the
 * client's early bytes and hands both sides to the relay. The
 * {@link dev.strait.server.connection.ConnectionRegistry} tracks every live connection for draining and the admin
 * endpoint.
 *
 * <p>The vocabulary (states, close causes, stages) is in {@code dev.strait.server.lifecycle}; what a whole route
 * shares (runtime, admission gate, counters, wait list) in {@code dev.strait.server.route}.
 */
package dev.strait.server.connection;
