package dev.strait.balance;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * Consistent hashing on the client IP: the client's address is placed on a {@link HashRing} of the route's backends
 * and gets the first eligible backend clockwise, so a client keeps its backend and adding or removing one of N
 * backends moves only about 1/N of the clients.
 *
 * <p>Thread-safe: the ring is immutable and cached in a volatile field, rebuilt when the backend list changes.
 */
final class SourceHashBalancer extends TieredBalancer {
    private volatile HashRing ring = HashRing.of(List.of());

    @Override
    Backend pickFrom(InetAddress client, List<Backend> backends, Set<Backend> exclude, boolean backups) {
        requireNonNull(client, "client");
        HashRing current = ring;
        if (!current.isOf(backends)) {
            current = HashRing.of(backends);
            ring = current; // loops racing here build equal rings, so whichever write lands last is fine
        }
        return current.walk(HashRing.hash(client.getAddress()), backups, exclude);
    }
}
