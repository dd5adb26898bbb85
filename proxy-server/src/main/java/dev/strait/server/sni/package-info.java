/**
 * Routing by what the client says first, without terminating TLS: the {@link dev.strait.server.sni.SniStage} pre-relay
 * stage reads a TLS ClientHello ({@link dev.strait.server.sni.ClientHelloParser}) or PostgreSQL's startup preamble
 * before it, picks a route's target by server name ({@link dev.strait.server.sni.SniMatcher}), and hands every byte it
 * read to the backend untouched.
 *
 * <p>Present only on routes with {@code sni}; a plain route's pipeline has no handler from here.
 */
package dev.strait.server.sni;
