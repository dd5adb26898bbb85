package dev.strait.balance;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks the eligible backend with the fewest live connections per unit of weight; among equals, the scan starts one
 * place further on each pick so that they share new connections.
 *
 * <p>Thread-safe and lock-free: the only state is the atomic start position.
 */
final class LeastConnectionsBalancer extends TieredBalancer {
    private final AtomicInteger start = new AtomicInteger();

    @Override
    Backend pickFrom(InetAddress client, List<Backend> backends, Set<Backend> exclude, boolean backups) {
        int size = backends.size();
        if (size == 0) {
            return null;
        }
        int first = Math.floorMod(start.getAndIncrement(), size);
        Backend best = null;
        for (int k = 0; k < size; k++) {
            Backend backend = backends.get((first + k) % size);
            if (eligible(backend, backups, exclude) && (best == null || lessLoaded(backend, best))) {
                best = backend;
            }
        }
        return best;
    }
}
