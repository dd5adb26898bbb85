package dev.strait.server.sni;

import dev.strait.config.SniTarget;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Picks a route's {@code sni} target for a server name: an exact name first, then a wildcard over exactly one leading
 * label ({@code *.pg.example.com} takes {@code a.pg.example.com}); case-insensitive, a trailing dot ignored. Immutable.
 */
public final class SniMatcher {
    private final Map<String, String> exact = new HashMap<>();
    private final Map<String, String> wildcard = new HashMap<>(); // by the part after "*."

    public SniMatcher(List<SniTarget> targets) {
        for (SniTarget target : targets) {
            for (String name : target.serverNames()) {
                if (name.startsWith("*.")) {
                    wildcard.putIfAbsent(name.substring(2), target.name());
                } else {
                    exact.putIfAbsent(name, target.name());
                }
            }
        }
    }

    /** The name of the target for {@code serverName}, or null if none matches (or there is no name). */
    public String match(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return null;
        }
        String name = serverName.toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        String target = exact.get(name);
        if (target != null) {
            return target;
        }
        int dot = name.indexOf('.');
        return dot > 0 ? wildcard.get(name.substring(dot + 1)) : null;
    }
}
