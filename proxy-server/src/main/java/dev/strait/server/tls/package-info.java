/**
 * TLS material and contexts: PEM certificates and keys (PKCS#8, PKCS#1, SEC1), the server contexts a terminating
 * route picks from by SNI (reloaded when their files change), the client contexts for TLS to backends, and what a
 * handshake negotiated. No handler lives here: the terminating stage is in {@code dev.strait.server.termination},
 * the backend side is added by the connector.
 */
package dev.strait.server.tls;
