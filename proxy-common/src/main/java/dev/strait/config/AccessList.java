package dev.strait.config;

import java.net.InetAddress;
import java.util.List;

/**
 * Which clients a route accepts: a client matching {@code deny} is refused; otherwise, if {@code allow} is not empty,
 * only clients matching it are accepted. Checked before any backend is contacted.
 */
public record AccessList(List<Cidr> allow, List<Cidr> deny) {

    public static final ConfigKey<Void> ALLOW = ConfigKey.readByLoader("allow", "list of CIDRs", "[]");
    public static final ConfigKey<Void> DENY = ConfigKey.readByLoader("deny", "list of CIDRs", "[]");
    public static final List<ConfigKey<?>> KEYS = List.of(ALLOW, DENY);

    public static final AccessList OPEN = new AccessList(List.of(), List.of());

    public AccessList {
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
    }

    public boolean permits(InetAddress client) {
        for (Cidr d : deny) {
            if (d.contains(client)) {
                return false;
            }
        }
        if (allow.isEmpty()) {
            return true;
        }
        for (Cidr a : allow) {
            if (a.contains(client)) {
                return true;
            }
        }
        return false;
    }

    public boolean isOpen() {
        return allow.isEmpty() && deny.isEmpty();
    }
}
