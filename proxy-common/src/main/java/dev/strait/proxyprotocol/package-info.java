/**
 * The PROXY protocol (HAProxy's, versions 1 and 2) as bytes: {@link dev.strait.proxyprotocol.ProxyHeaderParser} reads
 * a header a load balancer sends first, {@link dev.strait.proxyprotocol.ProxyHeaderEncoder} writes one for a backend.
 * No handler and no state: the server's pre-relay stage and its backend connector use them.
 */
package dev.strait.proxyprotocol;
