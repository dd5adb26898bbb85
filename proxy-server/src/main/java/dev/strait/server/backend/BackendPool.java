package dev.strait.server.backend;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.config.BackendSpec;
import dev.strait.config.PassiveCheck;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.transport.ErrorText;
import io.netty.channel.EventLoop;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The live backends of one route. An IP literal is one backend; a host name becomes one backend per address it
 * resolves to, re-resolved every refresh (sooner when the record's TTL is shorter), so a Kubernetes headless Service
 * works as a pool. A removed address gets no new connections; connections to it stay until they end.
 *
 * <p>Passive health: after {@code passiveCheck.failures} failed connects in a row, a backend is out for the cool-off.
 *
 * <p>Thread model: {@link #current()} and the failure reports are called from any event loop; resolution and timers
 * run on the pool's own event loop.
 */
public final class BackendPool implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(BackendPool.class);

    private final String route;
    private final List<BackendSpec> specs;
    private final PassiveCheck passive;
    private final EventLoop loop;
    private final Runnable onAvailable;
    private final List<List<Backend>> bySpec = new ArrayList<>();
    private final List<NameWatch> watches = new ArrayList<>();
    private final Map<Backend, AtomicInteger> failures = new ConcurrentHashMap<>();
    private volatile List<Backend> current = List.of();
    private volatile boolean closed;

    /**
     * Builds the pool and resolves host names once (waiting up to the DNS query timeout), reusing {@code previous}
     * backends of the same name so that counts and health survive a reload.
     *
     * @param onAvailable run, from any thread, when a backend may have become available: it came back up, or the
     *     names resolved anew
     */
    public BackendPool(
            String route,
            List<BackendSpec> specs,
            PassiveCheck passive,
            DnsSettings dns,
            EventLoop loop,
            Map<String, Backend> previous,
            Runnable onAvailable) {
        this.onAvailable = requireNonNull(onAvailable, "onAvailable");
        this.route = requireNonNull(route, "route");
        this.specs = List.copyOf(specs);
        this.passive = requireNonNull(passive, "passive");
        this.loop = requireNonNull(loop, "loop");
        for (int i = 0; i < this.specs.size(); i++) {
            BackendSpec spec = this.specs.get(i);
            byte[] literal =
                    NetUtil.createByteArrayFromIpAddressString(spec.address().host());
            if (literal != null) {
                bySpec.add(List.of(reuse(previous, spec, spec.address().toString(), address(literal, spec))));
            } else {
                bySpec.add(List.of());
                watches.add(new NameWatch(this, i, spec, dns, loop, previous));
            }
        }
        rebuild();
        watches.forEach(NameWatch::resolveNowAndWait);
    }

    /** The route's backends now, in config order. */
    public List<Backend> current() {
        return current;
    }

    /** Every backend by name, for a reload to carry over. */
    public Map<String, Backend> byName() {
        Map<String, Backend> names = new HashMap<>();
        current.forEach(b -> names.put(b.name(), b));
        return names;
    }

    /** A client connect to {@code backend} failed: counts toward passive health. */
    public void connectFailed(Backend backend, Throwable cause) {
        if (!passive.enabled()) {
            return;
        }
        int inARow = failures.computeIfAbsent(backend, b -> new AtomicInteger()).incrementAndGet();
        if (inARow >= passive.failures() && backend.healthy()) {
            backend.coolOffUntil(System.nanoTime() + passive.coolOff().toNanos());
            log.warn(
                    "route {}: backend {} is DOWN after {} failed connects in a row ({}); retrying in {}ms",
                    route,
                    backend,
                    inARow,
                    ErrorText.of(cause),
                    passive.coolOff().toMillis());
            loop.schedule(
                    () -> {
                        failures.remove(backend);
                        // Not guarded by this pool being open: a reload carries the same Backend into the next pool.
                        if (markHealthy(backend)) {
                            log.info("route {}: backend {} is back after its passive cool-off", route, backend);
                        }
                    },
                    passive.coolOff().toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    /** A client connect to {@code backend} succeeded: resets its passive failure count. */
    public void connectSucceeded(Backend backend) {
        if (passive.enabled()) {
            failures.remove(backend);
        }
    }

    /** Marks a backend up; when that changed its health, clients waiting for a backend are told. */
    public boolean markHealthy(Backend backend) {
        boolean changed = backend.setHealthy(true);
        if (changed) {
            onAvailable.run();
        }
        return changed;
    }

    /**
     * Drains ({@code true}: no new connections, live ones run on) or enables a backend; when enabling changed it,
     * clients waiting for a backend are told. Health checks go on either way. Returns true when this changed it.
     */
    public boolean setDrained(Backend backend, boolean drained) {
        boolean changed = backend.setDrained(drained);
        if (changed) {
            log.info("route {}: backend {} {}", route, backend, drained ? "drained" : "enabled");
            if (!drained) {
                onAvailable.run();
            }
        }
        return changed;
    }

    /** Called on the pool's loop by a name watch with the backends its name now resolves to. */
    void replace(int specIndex, List<Backend> backends) {
        bySpec.set(specIndex, List.copyOf(backends));
        rebuild();
        onAvailable.run();
    }

    private void rebuild() {
        List<Backend> all = new ArrayList<>();
        bySpec.forEach(all::addAll);
        current = List.copyOf(all);
    }

    String route() {
        return route;
    }

    boolean isClosed() {
        return closed;
    }

    static Backend reuse(Map<String, Backend> previous, BackendSpec spec, String name, InetSocketAddress address) {
        Backend old = previous.get(name);
        if (old != null
                && old.weight() == spec.weight()
                && old.maxConnections() == spec.maxConnections()
                && old.backup() == spec.backup()
                && old.sendProxyProtocol() == proxyHeader(spec)) {
            return old;
        }
        return new Backend(name, address, spec.weight(), spec.maxConnections(), spec.backup(), proxyHeader(spec));
    }

    /** The spec's own PROXY header setting (the route's is filled in by whoever made the pool's specs). */
    private static ProxyHeaderVersion proxyHeader(BackendSpec spec) {
        return spec.sendProxyProtocol().orElse(ProxyHeaderVersion.OFF);
    }

    private static InetSocketAddress address(byte[] literal, BackendSpec spec) {
        try {
            return new InetSocketAddress(
                    InetAddress.getByAddress(literal), spec.address().port());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an IP literal of " + literal.length + " bytes", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        watches.forEach(NameWatch::close);
    }
}
