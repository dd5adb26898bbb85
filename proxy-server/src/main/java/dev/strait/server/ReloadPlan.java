package dev.strait.server;

import static java.util.Objects.requireNonNull;

import dev.strait.config.HostAndPort;
import dev.strait.config.ProxyConfig;
import dev.strait.config.Route;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What a reload changes, worked out from the running config and the new one before anything is touched. Pure: no
 * sockets, no threads; {@link ProxyServer#reload} applies it through {@link RouteTable#apply}.
 *
 * <p>Route lists follow the new config's order, {@code removed} the old one's. A route in none of them keeps its
 * listener and its runtime.
 *
 * @param added routes new by name: they get a listener
 * @param rebound routes whose listen address changed: they get a new listener, and the old one stops
 * @param updated routes that keep their listener but get a new runtime, because their settings or a global setting
 *     they use ({@code maxConnections}, {@code dns}) changed
 * @param removed names of routes no longer configured: their listeners stop, their live connections run on
 * @param rejected restart-only settings that changed ({@code transport}, {@code workers}, {@code backlog},
 *     {@code admin}): the running value stays until a restart
 * @param changes for each updated route, by name, what changed in one line: {@code backends 10.0.0.1:5432,10.0.0.2:5432
 *     -> 10.0.0.2:5432; timeouts.idle 1h -> 5m}
 */
record ReloadPlan(
        List<Route> added,
        List<Route> rebound,
        List<Route> updated,
        List<String> removed,
        List<RestartOnly> rejected,
        Map<String, String> changes) {

    /** A setting that only a restart can change, with its running value and the one the new config asks for. */
    record RestartOnly(String key, String was, String now) {}

    ReloadPlan {
        added = List.copyOf(added);
        rebound = List.copyOf(rebound);
        updated = List.copyOf(updated);
        removed = List.copyOf(removed);
        rejected = List.copyOf(rejected);
        changes = Map.copyOf(changes);
    }

    /**
     * The plan that turns {@code current} into {@code next}.
     *
     * @param boundPorts the port each running route's listener holds, by route name; it differs from the config when
     *     that said port 0, and a new config that names the bound port keeps the listener
     */
    static ReloadPlan between(ProxyConfig current, ProxyConfig next, Map<String, Integer> boundPorts) {
        requireNonNull(boundPorts, "boundPorts");
        List<RestartOnly> rejected = new ArrayList<>();
        restartOnly(rejected, "transport", current.transport(), next.transport());
        restartOnly(rejected, "workers", current.workers(), next.workers());
        restartOnly(rejected, "backlog", current.backlog(), next.backlog());
        restartOnly(rejected, "admin", current.admin(), next.admin());
        List<String> globalChanges = new ArrayList<>();
        ConfigDiff.diff("maxConnections", current.maxConnections(), next.maxConnections(), globalChanges);
        ConfigDiff.diff("dns", current.dns(), next.dns(), globalChanges);
        boolean globalChanged = !globalChanges.isEmpty();

        Map<String, Route> running =
                current.routes().stream().collect(Collectors.toMap(Route::name, Function.identity()));
        List<Route> added = new ArrayList<>();
        List<Route> rebound = new ArrayList<>();
        List<Route> updated = new ArrayList<>();
        Map<String, String> changes = new HashMap<>();
        for (Route route : next.routes()) {
            Route was = running.get(route.name());
            if (was == null) {
                added.add(route);
            } else if (!listensOn(was, boundPorts.get(route.name()), route.listen())) {
                rebound.add(route);
            } else if (globalChanged || !was.equals(route)) {
                updated.add(route);
                List<String> changed = new ArrayList<>();
                ConfigDiff.diff("", was, route, changed);
                changed.addAll(globalChanges);
                changes.put(route.name(), String.join("; ", changed));
            }
        }
        Set<String> kept = next.routes().stream().map(Route::name).collect(Collectors.toSet());
        List<String> removed = current.routes().stream()
                .map(Route::name)
                .filter(name -> !kept.contains(name))
                .toList();
        return new ReloadPlan(added, rebound, updated, removed, rejected, changes);
    }

    /** The routes that need a new listener: added, then rebound. */
    List<Route> toBind() {
        return Stream.concat(added.stream(), rebound.stream()).toList();
    }

    /** Whether the running route already serves {@code listen}: the same config value, or the port it is bound to. */
    private static boolean listensOn(Route running, Integer boundPort, HostAndPort listen) {
        if (running.listen().equals(listen)) {
            return true;
        }
        return boundPort != null
                && listen.port() == boundPort
                && listen.host().equals(running.listen().host());
    }

    private static void restartOnly(List<RestartOnly> rejected, String key, Object was, Object now) {
        if (!was.equals(now)) {
            rejected.add(new RestartOnly(key, ConfigDiff.plain(was), ConfigDiff.plain(now)));
        }
    }
}
