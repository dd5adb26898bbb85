package dev.strait.balance;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A consistent-hash ring over one backend list: each backend owns points placed by hashing {@code name#i}, about
 * {@value #MEAN_POINTS} per backend and proportional to weight (as in libketama), so placement depends only on names
 * and weights, not on list order.
 *
 * <p>Immutable, so safe to share between threads.
 */
final class HashRing {
    /** Points for a backend of average weight; more points spread clients more evenly. */
    static final int MEAN_POINTS = 160;

    private final Backend[] members;
    /** Sorted; each entry is {@code position << 32 | member index}, so one sort orders both. */
    private final long[] points;

    private HashRing(Backend[] members, long[] points) {
        this.members = members;
        this.points = points;
    }

    static HashRing of(List<Backend> backends) {
        Backend[] members = backends.toArray(new Backend[0]);
        long totalWeight = 0;
        for (Backend backend : members) {
            totalWeight += backend.weight();
        }
        int[] counts = new int[members.length];
        int size = 0;
        for (int m = 0; m < members.length; m++) {
            counts[m] = (int)
                    Math.max(1, Math.round((double) MEAN_POINTS * members.length * members[m].weight() / totalWeight));
            size += counts[m];
        }
        long[] points = new long[size];
        int next = 0;
        for (int m = 0; m < members.length; m++) {
            for (int i = 0; i < counts[m]; i++) {
                long position = hash((members[m].name() + "#" + i).getBytes(UTF_8)) >> 32;
                points[next++] = position << 32 | m;
            }
        }
        Arrays.sort(points);
        return new HashRing(members, points);
    }

    /** True when this ring was built from the same backend objects, in the same order. */
    boolean isOf(List<Backend> backends) {
        return TieredBalancer.sameMembers(members, backends);
    }

    /**
     * From the point of {@code hash}, walks clockwise to the first backend that is eligible in the given tier.
     *
     * @return that backend, or {@code null} when the tier has none
     */
    Backend walk(long hash, boolean backups, Set<Backend> exclude) {
        if (points.length == 0) {
            return null;
        }
        int at = Arrays.binarySearch(points, (hash >> 32) << 32);
        at = at < 0 ? -at - 1 : at;
        for (int step = 0; step < points.length; step++, at++) {
            Backend backend = members[(int) points[at % points.length]];
            if (TieredBalancer.eligible(backend, backups, exclude)) {
                return backend;
            }
        }
        return null;
    }

    /**
     * A 64-bit hash of {@code bytes}: FNV-1a, then MurmurHash3's finalizer so that neighbouring addresses such as
     * 10.0.0.1 and 10.0.0.2 land far apart on the ring.
     */
    static long hash(byte[] bytes) {
        long h = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9e34a2bf6d5L;
        h ^= h >>> 33;
        return h;
    }
}
