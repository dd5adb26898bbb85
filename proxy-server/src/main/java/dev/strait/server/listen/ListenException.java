package dev.strait.server.listen;

import dev.strait.config.HostAndPort;
import dev.strait.transport.ErrorText;

/**
 * A listener socket could not be bound (a port in use, an address not on this host); the message is one line for the
 * user and names the address and what the listener was for.
 */
public final class ListenException extends Exception {
    private static final long serialVersionUID = 1L;

    ListenException(HostAndPort address, String what, Throwable cause) {
        super("cannot listen on " + address + " for " + what + ": " + ErrorText.of(cause), cause);
    }
}
