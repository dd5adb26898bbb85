package dev.strait.balance;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * The rules every algorithm shares: only eligible backends (available and not excluded) are picked, and backups only
 * when no primary is eligible; subclasses choose within one tier and are thread-safe themselves.
 *
 * <p>A primary in {@code exclude} counts as unavailable for that connection, so a retry after it failed may reach a
 * backup.
 */
abstract class TieredBalancer implements LoadBalancer {

    @Override
    public final Backend pick(InetAddress client, List<Backend> backends, Set<Backend> exclude) {
        requireNonNull(backends, "backends");
        requireNonNull(exclude, "exclude");
        Backend primary = pickFrom(client, backends, exclude, false);
        return primary != null ? primary : pickFrom(client, backends, exclude, true);
    }

    /**
     * Picks among the {@link #eligible eligible} backends of one tier.
     *
     * @param backups false for the primaries, true for the backups
     * @return the pick, or {@code null} when the tier has no eligible backend
     */
    abstract Backend pickFrom(InetAddress client, List<Backend> backends, Set<Backend> exclude, boolean backups);

    /** In the tier asked for, available, and not yet tried for this connection. */
    static boolean eligible(Backend backend, boolean backups, Set<Backend> exclude) {
        return backend.backup() == backups && backend.available() && !exclude.contains(backend);
    }

    /** True when {@code a} carries fewer live connections per unit of weight than {@code b}. */
    static boolean lessLoaded(Backend a, Backend b) {
        return (long) a.activeConnections() * b.weight() < (long) b.activeConnections() * a.weight();
    }

    /** True when {@code snapshot} holds the same backend objects as {@code backends}, in the same order. */
    static boolean sameMembers(Backend[] snapshot, List<Backend> backends) {
        if (snapshot.length != backends.size()) {
            return false;
        }
        for (int i = 0; i < snapshot.length; i++) {
            if (snapshot[i] != backends.get(i)) {
                return false;
            }
        }
        return true;
    }
}
