package dev.strait.balance;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Backends on 10.0.0.i:5432, client addresses, and a pick counter for the balancer tests. */
final class TestBackends {
    static final Set<Backend> NONE = Set.of();

    private TestBackends() {}

    static Backend backend(int i) {
        return backend(i, 1, 0, false);
    }

    static Backend weighted(int i, int weight) {
        return backend(i, weight, 0, false);
    }

    static Backend capped(int i, int maxConnections) {
        return backend(i, 1, maxConnections, false);
    }

    static Backend backup(int i) {
        return backend(i, 1, 0, true);
    }

    static Backend backend(int i, int weight, int maxConnections, boolean backup) {
        InetSocketAddress address = new InetSocketAddress(ip(10, 0, 0, i), 5432);
        return new Backend("10.0.0." + i + ":5432", address, weight, maxConnections, backup);
    }

    /** Distinct client addresses 172.16.x.y for n from 0 to 65535. */
    static InetAddress client(int n) {
        return ip(172, 16, n >> 8, n & 0xff);
    }

    static InetAddress ip(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Picks {@code picks} times, one client per pick, and counts picks per backend ({@code null} counts the misses).
     *
     * @param live whether each pick opens a connection that stays open, as long sessions do
     */
    static Map<Backend, Integer> count(LoadBalancer balancer, List<Backend> backends, int picks, boolean live) {
        Map<Backend, Integer> counts = new IdentityHashMap<>();
        for (int n = 0; n < picks; n++) {
            Backend picked = balancer.pick(client(n), backends, NONE);
            if (picked != null && live) {
                picked.connectionStarted();
            }
            counts.merge(picked, 1, Integer::sum);
        }
        return Collections.unmodifiableMap(counts);
    }

    /** The share of {@code picks} that went to {@code backend}, in percent. */
    static double percent(Map<Backend, Integer> counts, Backend backend, int picks) {
        return 100.0 * counts.getOrDefault(backend, 0) / picks;
    }
}
