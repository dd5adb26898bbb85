package dev.strait.balance;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two choices: draws two distinct eligible backends at random, each with probability proportional to its
 * weight, and takes the one with fewer live connections per unit of weight (the first drawn on a tie).
 *
 * <p>Thread-safe and stateless; randomness comes from {@link ThreadLocalRandom}.
 */
final class RandomBalancer extends TieredBalancer {

    @Override
    Backend pickFrom(InetAddress client, List<Backend> backends, Set<Backend> exclude, boolean backups) {
        long total = 0;
        int count = 0;
        for (int i = 0; i < backends.size(); i++) {
            Backend backend = backends.get(i);
            if (eligible(backend, backups, exclude)) {
                total += backend.weight();
                count++;
            }
        }
        if (count == 0) {
            return null;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        Backend first = draw(backends, backups, exclude, null, random.nextLong(total));
        long rest = first == null ? 0 : total - first.weight();
        if (count == 1 || rest <= 0) {
            return first;
        }
        Backend second = draw(backends, backups, exclude, first, random.nextLong(rest));
        return second != null && lessLoaded(second, first) ? second : first;
    }

    /**
     * The eligible backend other than {@code skip} whose stretch of the weight line holds {@code offset}; null when
     * availability changed since the weights were summed and the line is now shorter.
     */
    private static Backend draw(
            List<Backend> backends, boolean backups, Set<Backend> exclude, Backend skip, long offset) {
        long left = offset;
        for (int i = 0; i < backends.size(); i++) {
            Backend backend = backends.get(i);
            if (backend != skip && eligible(backend, backups, exclude)) {
                left -= backend.weight();
                if (left < 0) {
                    return backend;
                }
            }
        }
        return null;
    }
}
