package dev.strait.proxyprotocol;

import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * One PROXY protocol header as read: its version, its length in bytes, and the client it names. {@code source} and
 * {@code destination} are null when the header keeps the TCP connection's own addresses (a v2 {@code LOCAL} command,
 * a v1 {@code UNKNOWN}, an unspecified or UNIX family).
 *
 * @param version 1 or 2
 * @param length the header's bytes, signature included; what follows is the client's payload
 * @param source the real client, or null
 * @param destination the address the real client connected to, or null
 * @param authority the v2 {@code PP2_TYPE_AUTHORITY} TLV (the server name the client asked for), if sent
 */
public record ProxyHeader(
        int version, int length, InetSocketAddress source, InetSocketAddress destination, Optional<String> authority) {

    /** Whether the header names a client (else the connection's own addresses stand). */
    public boolean namesClient() {
        return source != null;
    }
}
