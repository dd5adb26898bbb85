/**
 * The choice of Netty transport: native epoll or io_uring on Linux, NIO anywhere.
 *
 * <p>A {@link dev.strait.transport.Transport} bundles the event loop's I/O handler factory with the channel classes
 * that must match it, so that the server, the backend connections and the DNS resolver never mix transports.
 * {@link dev.strait.transport.KeepaliveOptions} names each transport's own options for TCP keepalive's times.
 */
package dev.strait.transport;
