package dev.strait.server.backend;

import dev.strait.balance.Backend;
import dev.strait.config.BackendSpec;
import io.netty.channel.EventLoop;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Re-resolves one backend host name on a timer and hands its pool one backend per address. A failed lookup keeps the
 * last good answer. Runs on the pool's event loop.
 */
final class NameWatch {
    private static final Logger log = LogManager.getLogger(NameWatch.class);
    private static final long MIN_DELAY_MILLIS = 1000;

    private final BackendPool pool;
    private final int specIndex;
    private final BackendSpec spec;
    private final EventLoop loop;
    private final long refreshMillis;
    private final TtlRecordingCache cache;
    private final DnsNameResolver resolver;
    private List<Backend> backends = List.of();
    private Map<String, Backend> carried;
    private String lastFailure;
    private boolean resolvedOnce;
    private ScheduledFuture<?> next;

    NameWatch(
            BackendPool pool,
            int specIndex,
            BackendSpec spec,
            DnsSettings dns,
            EventLoop loop,
            Map<String, Backend> previous) {
        this.pool = pool;
        this.specIndex = specIndex;
        this.spec = spec;
        this.loop = loop;
        this.refreshMillis = dns.refresh().toMillis();
        this.cache = new TtlRecordingCache((int) Math.max(1, dns.refresh().toSeconds()));
        this.resolver = dns.newResolver(loop, cache);
        this.carried = previous;
    }

    /** Resolves once now, waiting for the answer, then keeps refreshing on the timer. */
    void resolveNowAndWait() {
        Future<List<InetAddress>> first = loop.submit(
                        () -> resolver.resolveAll(spec.address().host()))
                .syncUninterruptibly()
                .getNow();
        first.awaitUninterruptibly();
        loop.submit(() -> apply(first)).syncUninterruptibly();
    }

    private void refresh() {
        if (pool.isClosed()) {
            return;
        }
        resolver.resolveAll(spec.address().host()).addListener(f -> {
            @SuppressWarnings("unchecked")
            Future<List<InetAddress>> answer = (Future<List<InetAddress>>) f;
            apply(answer);
        });
    }

    private void apply(Future<List<InetAddress>> answer) {
        if (pool.isClosed()) {
            return;
        }
        if (answer.isSuccess()) {
            lastFailure = null;
            update(answer.getNow());
        } else {
            String failure = String.valueOf(answer.cause().getMessage());
            if (!failure.equals(lastFailure)) {
                log.warn(
                        "route {}: cannot resolve backend {} ({}); keeping {}",
                        pool.route(),
                        spec.address(),
                        failure,
                        backends.isEmpty() ? "no addresses" : backends);
                lastFailure = failure;
            }
        }
        long ttlSeconds = cache.takeShortestTtl();
        long delay = ttlSeconds == Long.MAX_VALUE ? refreshMillis : Math.min(refreshMillis, ttlSeconds * 1000);
        delay = Math.max(MIN_DELAY_MILLIS, delay);
        next = loop.schedule(this::refresh, delay, TimeUnit.MILLISECONDS);
    }

    private void update(List<InetAddress> addresses) {
        List<Backend> fresh = new ArrayList<>();
        Map<String, Backend> known = new HashMap<>(carried);
        carried = Map.of(); // backends from before a reload are carried over once, by the first answer
        backends.forEach(b -> known.put(b.name(), b));
        for (InetAddress address : addresses) {
            String name = spec.address() + " (" + address.getHostAddress() + ")";
            fresh.add(BackendPool.reuse(
                    known,
                    spec,
                    name,
                    new InetSocketAddress(address, spec.address().port())));
        }
        boolean first = !resolvedOnce;
        resolvedOnce = true;
        if (first || !names(fresh).equals(names(backends))) {
            log.info(
                    "route {}: backend {} resolves to {} (was {})",
                    pool.route(),
                    spec.address(),
                    addressesOf(fresh),
                    backends.isEmpty() ? "none" : addressesOf(backends));
            backends = List.copyOf(fresh);
            pool.replace(specIndex, backends);
        }
    }

    private static List<String> names(List<Backend> list) {
        return list.stream().map(Backend::name).sorted().toList();
    }

    private static List<String> addressesOf(List<Backend> list) {
        return list.stream().map(b -> b.address().getAddress().getHostAddress()).toList();
    }

    void close() {
        loop.execute(() -> {
            if (next != null) {
                next.cancel(false);
            }
            resolver.close();
        });
    }
}
