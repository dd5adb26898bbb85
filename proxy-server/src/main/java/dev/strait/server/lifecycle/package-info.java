/**
 * The vocabulary of a client connection's life: its {@link dev.strait.server.lifecycle.ConnectionState states}, the
 * fixed set of {@link dev.strait.server.lifecycle.CloseCause close causes}, and the contract of a
 * {@link dev.strait.server.lifecycle.PreRelayStage pre-relay stage}.
 *
 * <p>Nothing here owns a connection: {@code dev.strait.server.connection} does, and packages that add a stage (PROXY
 * header, ClientHello peek, TLS) depend on this one only, so the pipeline recipe can use them without a loop.
 */
package dev.strait.server.lifecycle;
