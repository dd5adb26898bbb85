/**
 * TLS termination for clients: the {@code tls} pre-relay stage, which puts an SNI-selecting {@code SslHandler} in
 * front of the client's pipeline, hands over once the handshake is done, and records what it negotiated. The
 * handler stays for the connection's life; the contexts come from {@code dev.strait.server.tls}.
 */
package dev.strait.server.termination;
