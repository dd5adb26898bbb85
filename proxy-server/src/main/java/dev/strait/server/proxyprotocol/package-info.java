/**
 * The PROXY protocol, accepting: the pre-relay stage that reads the header a load balancer sends first and makes the
 * client it names the connection's client, before admission. Present only on routes with {@code proxyProtocol.accept}.
 */
package dev.strait.server.proxyprotocol;
