package dev.strait.server.lifecycle;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import io.netty.channel.Channel;
import java.net.SocketAddress;

/**
 * Where a client connection is in its life. Each state carries what it holds, so what must be released on close is
 * read off the state: {@link #holdsSlot()} (the admission gate's count) and {@link #backend()} (the backend's count).
 *
 * <pre>
 * Accepted          -> WaitingForSlot | Admitted | Closed       (the admission gate's verdict)
 * Accepted          -> Staging(unadmitted)                     (a route that reads the PROXY header first)
 * Staging(unadm.)   -> WaitingForSlot | Admitted | Closed       (the gate's verdict on the header's client)
 * WaitingForSlot    -> Admitted                                (a slot, before the deadline)
 * Admitted          -> Staging | Connecting | WaitingForBackend
 * Staging           -> Staging | Connecting | WaitingForBackend (each stage hands over to the next, then the connector)
 * Connecting        -> Relaying | Admitted                     (the backend accepted, or the attempt failed)
 * WaitingForBackend -> Connecting | WaitingForBackend          (woken by an event or the retry pause)
 * any               -> Closed(cause)                           (the one close path)
 * </pre>
 *
 * <p>Immutable; the owner swaps one for the next on the connection's event loop.
 */
public sealed interface ConnectionState {
    /** The name {@code /connections} shows. */
    String name();

    /** Whether the admission gate counts this connection now. */
    default boolean holdsSlot() {
        return true;
    }

    /** The backend that counts this connection now, or null. */
    default Backend backend() {
        return null;
    }

    /** The backend channel's address once relaying, else null. */
    default SocketAddress backendAddress() {
        return null;
    }

    /** Bytes the client sent that were relayed to the backend; 0 until relaying. */
    default long bytesFromClient() {
        return 0;
    }

    /** Bytes the backend sent that were relayed to the client; 0 until relaying. */
    default long bytesFromBackend() {
        return 0;
    }

    /** Bytes moved by splice(2) in either direction, which no handler in the pipeline sees; 0 until relaying. */
    default long bytesSpliced() {
        return 0;
    }

    /** Accepted, not yet through the admission gate. */
    record Accepted() implements ConnectionState {
        @Override
        public String name() {
            return "accepted";
        }

        @Override
        public boolean holdsSlot() {
            return false;
        }
    }

    /**
     * Waiting, unread and not yet admitted, for an admission slot until {@code deadlineNanos} (the event loop's
     * ticker): the one deadline of the connection's wait, counted from accept.
     */
    record WaitingForSlot(long deadlineNanos) implements ConnectionState {
        @Override
        public String name() {
            return "waiting-for-slot";
        }

        @Override
        public boolean holdsSlot() {
            return false;
        }
    }

    /** Admitted and waiting, unread, for a backend until {@code deadlineNanos}: the same deadline, counted from accept. */
    record WaitingForBackend(long deadlineNanos) implements ConnectionState {
        @Override
        public String name() {
            return "waiting";
        }
    }

    /** Counted by the admission gate; about to run its stages or connect. */
    record Admitted() implements ConnectionState {
        @Override
        public String name() {
            return "admitted";
        }
    }

    /**
     * A pre-relay stage is reading the client's first bytes. {@code admitted} is false for a stage that runs before
     * admission (the PROXY header, which names the client the gate must judge): that holds no slot yet.
     */
    record Staging(String stage, boolean admitted) implements ConnectionState {
        public Staging {
            requireNonNull(stage, "stage");
        }

        /** A stage of an admitted client. */
        public Staging(String stage) {
            this(stage, true);
        }

        @Override
        public String name() {
            return "stage:" + stage;
        }

        @Override
        public boolean holdsSlot() {
            return admitted;
        }
    }

    /** Connect attempt {@code attempt} (from 1) to {@code backend}, counted by it; {@code channel} is the attempt. */
    record Connecting(Backend backend, int attempt, Channel channel) implements ConnectionState {
        public Connecting {
            requireNonNull(backend, "backend");
            requireNonNull(channel, "channel");
            if (attempt < 1) {
                throw new IllegalArgumentException("attempt must be at least 1: " + attempt);
            }
        }

        @Override
        public String name() {
            return "connecting";
        }
    }

    /** Both sides connected and handed to the relay: one {@link RelayHandler} per direction. */
    record Relaying(Backend backend, Channel channel, RelayHandler fromClient, RelayHandler fromBackend)
            implements ConnectionState {
        public Relaying {
            requireNonNull(backend, "backend");
            requireNonNull(channel, "channel");
            requireNonNull(fromClient, "fromClient");
            requireNonNull(fromBackend, "fromBackend");
        }

        @Override
        public String name() {
            return "relaying";
        }

        @Override
        public SocketAddress backendAddress() {
            return channel.remoteAddress();
        }

        @Override
        public long bytesFromClient() {
            return fromClient.bytesRelayed();
        }

        @Override
        public long bytesFromBackend() {
            return fromBackend.bytesRelayed();
        }

        @Override
        public long bytesSpliced() {
            return fromClient.bytesSpliced() + fromBackend.bytesSpliced();
        }
    }

    /**
     * Ended, for {@code cause}; holds nothing. {@code last} is the state it ended in, so the bytes it relayed stay
     * readable.
     */
    record Closed(CloseCause cause, ConnectionState last) implements ConnectionState {
        public Closed {
            requireNonNull(cause, "cause");
            requireNonNull(last, "last");
        }

        @Override
        public String name() {
            return "closed";
        }

        @Override
        public boolean holdsSlot() {
            return false;
        }

        @Override
        public SocketAddress backendAddress() {
            return last.backendAddress();
        }

        @Override
        public long bytesFromClient() {
            return last.bytesFromClient();
        }

        @Override
        public long bytesFromBackend() {
            return last.bytesFromBackend();
        }

        @Override
        public long bytesSpliced() {
            return last.bytesSpliced();
        }
    }
}
