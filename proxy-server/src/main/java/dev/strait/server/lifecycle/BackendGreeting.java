package dev.strait.server.lifecycle;

import static java.util.Objects.requireNonNull;

/**
 * What Strait says to a backend, once connected and before the relay starts, and the one-byte answer that lets the
 * relay go on: PostgreSQL's {@code SSLRequest}, answered {@code S}, when Strait answered the client's itself to read
 * its ClientHello. Any other answer ends the connection.
 *
 * @param what a name for logs: {@code SSLRequest}
 * @param request the bytes sent
 * @param accepted the answer that accepts
 */
public record BackendGreeting(String what, byte[] request, byte accepted) {
    /** PostgreSQL's SSLRequest: length 8, code 80877103. */
    public static final BackendGreeting POSTGRES_SSL =
            new BackendGreeting("SSLRequest", new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x2f}, (byte) 'S');

    public BackendGreeting {
        requireNonNull(what, "what");
        request = requireNonNull(request, "request").clone();
    }

    @Override
    public byte[] request() {
        return request.clone();
    }
}
