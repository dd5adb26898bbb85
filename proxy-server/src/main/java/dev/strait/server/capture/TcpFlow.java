package dev.strait.server.capture;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;

/**
 * One side of a proxied connection as a TCP stream in the capture file: the client and the listener, or Strait's
 * local address and the backend. The sequence numbers are the writer thread's alone.
 */
final class TcpFlow {
    final InetSocketAddress initiator;
    final InetSocketAddress responder;
    long initiatorSeq = 1_000;
    long responderSeq = 500_000;

    TcpFlow(InetSocketAddress initiator, InetSocketAddress responder) {
        this.initiator = requireNonNull(initiator, "initiator");
        this.responder = requireNonNull(responder, "responder");
    }
}
