package dev.strait.balance;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * Picks the backend for a new connection.
 *
 * <p>Contract for every algorithm: only {@link Backend#available() available} backends are picked (never a drained
 * one); backends in
 * {@code exclude} (already tried for this client) are skipped; a backup is picked only when no primary is left
 * (unavailable or already tried, so a retry can fall back to a backup); when nothing is left, the result is
 * {@code null}. Implementations are thread-safe and non-blocking.
 */
public interface LoadBalancer {

    /**
     * @param client the client's address (source-hash uses it; others may ignore it)
     * @param backends the route's current backends; the list may change between calls (DNS, reload)
     * @param exclude backends already tried for this connection
     * @return the backend to try next, or {@code null} if none is available
     */
    Backend pick(InetAddress client, List<Backend> backends, Set<Backend> exclude);
}
