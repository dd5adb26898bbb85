package dev.strait.balance;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * Smooth weighted round-robin, nginx's algorithm: every pick adds each eligible backend's weight to its running score,
 * takes the highest score and lowers it by the total, so weights 5:1:1 give {@code a a b a c a a}.
 *
 * <p>Thread-safe: one short lock per pick guards the scores, which are kept per backend object across list changes.
 */
final class RoundRobinBalancer extends TieredBalancer {
    private Backend[] members = new Backend[0];
    private int[] scores = new int[0];

    @Override
    synchronized Backend pickFrom(InetAddress client, List<Backend> backends, Set<Backend> exclude, boolean backups) {
        if (!sameMembers(members, backends)) {
            follow(backends);
        }
        int best = -1;
        int total = 0;
        for (int i = 0; i < members.length; i++) {
            Backend backend = members[i];
            if (eligible(backend, backups, exclude)) {
                scores[i] += backend.weight();
                total += backend.weight();
                if (best < 0 || scores[i] > scores[best]) {
                    best = i;
                }
            }
        }
        if (best < 0) {
            return null;
        }
        scores[best] -= total;
        return members[best];
    }

    /** Adopts a new backend list, keeping the score of every backend that is still in it. */
    private void follow(List<Backend> backends) {
        Backend[] next = backends.toArray(new Backend[0]);
        int[] nextScores = new int[next.length];
        for (int i = 0; i < next.length; i++) {
            for (int j = 0; j < members.length; j++) {
                if (members[j] == next[i]) {
                    nextScores[i] = scores[j];
                    break;
                }
            }
        }
        members = next;
        scores = nextScores;
    }
}
