/**
 * One proxied connection, from accept to close: {@link dev.strait.server.connection.FrontendHandler} connects the
 * backend on the client's event loop, then hands both sides to the relay; the
 * {@link dev.strait.server.connection.ConnectionRegistry} tracks every live connection for draining and the admin
 * endpoint.
 */
package dev.strait.server.connection;
