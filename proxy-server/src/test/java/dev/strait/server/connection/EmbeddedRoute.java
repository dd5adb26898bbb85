package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.balance.Balancers;
import dev.strait.config.AccessList;
import dev.strait.config.BackendSpec;
import dev.strait.config.HostAndPort;
import dev.strait.config.Limits;
import dev.strait.config.Route;
import dev.strait.config.Timeouts;
import dev.strait.relay.RelayHandler;
import dev.strait.server.backend.BackendPool;
import dev.strait.server.capture.Captures;
import dev.strait.server.lifecycle.PreRelayStage;
import dev.strait.server.metrics.ProxyMetrics;
import dev.strait.server.route.AdmissionGate;
import dev.strait.server.route.RouteMetrics;
import dev.strait.server.route.RouteRuntime;
import dev.strait.server.route.WaitList;
import dev.strait.server.support.TestRoutes;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

/**
 * A route whose clients are {@link EmbeddedChannel}s built by the real {@link FrontendInitializer}, and whose backend
 * connects are {@link Dial}s the test completes. Every connection that closes is kept, with its cause, in
 * {@link #closed}.
 */
final class EmbeddedRoute {
    final WaitList waiters = new WaitList();
    final List<ProxiedConnection> closed = new ArrayList<>();
    final ConnectionRegistry registry = new ConnectionRegistry(closed::add);
    final List<Dial> dials = new ArrayList<>();
    final RouteRuntime runtime;
    private final EmbeddedChannel poolLoop = new EmbeddedChannel();

    /** A connect in progress: its backend channel (with the backend's relay) and the promise the test completes. */
    record Dial(Backend target, EmbeddedChannel channel, ChannelPromise promise) {}

    EmbeddedRoute(Route route) {
        this(route, List.of());
    }

    /** With these pre-relay stages, in order. */
    EmbeddedRoute(Route route, List<PreRelayStage.Factory> stages) {
        BackendPool pool = new BackendPool(
                route.name(),
                route.backends(),
                route.passiveCheck(),
                null,
                poolLoop.eventLoop(),
                java.util.Map.of(),
                waiters::wakeAll);
        AdmissionGate gate =
                new AdmissionGate(route.access(), route.limits(), new AtomicInteger(), 0, waiters::wakeAll, null);
        runtime = new RouteRuntime(
                route,
                pool,
                Balancers.create(route.balance()),
                new Bootstrap(),
                gate,
                new RouteMetrics(new ProxyMetrics("test"), route.name()),
                waiters,
                stages,
                0,
                List.of(),
                null,
                new Captures(java.nio.file.Path.of(System.getProperty("java.io.tmpdir"))),
                java.util.Optional.empty(),
                dev.strait.server.tls.BackendTlsContexts.NONE);
    }

    /** Route {@code test} over {@code backends} round-robin backends (10.0.0.1:1, 10.0.0.2:1, ...). */
    static Route route(int backends, int retries, Timeouts timeouts, Limits limits, AccessList access) {
        List<BackendSpec> specs = IntStream.rangeClosed(1, backends)
                .mapToObj(i -> BackendSpec.of(new HostAndPort("10.0.0." + i, 1)))
                .toList();
        return TestRoutes.route("test")
                .backendSpecs(specs)
                .retries(retries)
                .timeouts(timeouts)
                .limits(limits)
                .access(access)
                .build();
    }

    /** {@code route} with every backend capped at {@code maxConnections}. */
    static Route capped(Route route, int maxConnections) {
        List<BackendSpec> specs = route.backends().stream()
                .map(b -> new BackendSpec(b.address(), b.weight(), maxConnections, b.backup()))
                .toList();
        return TestRoutes.from(route).backendSpecs(specs).build();
    }

    static Timeouts timeouts(Duration queue, Duration idle, Duration maxLifetime) {
        return new Timeouts(Timeouts.DEFAULT_CONNECT, idle, Duration.ZERO, Duration.ZERO, queue, maxLifetime);
    }

    /** A newly accepted client (auto-read off, as the listener sets it), through the route's recipe. */
    EmbeddedChannel accept() {
        EmbeddedChannel client = new EmbeddedChannel();
        client.config().setAutoRead(false);
        client.pipeline().addLast(new FrontendInitializer(() -> runtime, registry, this::dial));
        return client;
    }

    private ChannelFuture dial(
            RouteRuntime route, io.netty.channel.Channel frontend, Backend target, RelayHandler relay) {
        EmbeddedChannel backend = new EmbeddedChannel();
        backend.config().setAutoRead(false);
        backend.pipeline().addLast(relay);
        ChannelPromise promise = backend.newPromise();
        dials.add(new Dial(target, backend, promise));
        return promise;
    }

    Backend backend(int index) {
        return runtime.pool().current().get(index);
    }

    /** The live connection of {@code client}. */
    ProxiedConnection connectionOf(EmbeddedChannel client) {
        return registry.snapshot().stream()
                .filter(c -> c.frontend() == client)
                .findFirst()
                .orElseThrow();
    }

    Dial lastDial() {
        return dials.get(dials.size() - 1);
    }

    /** Advances the client's clock and runs what fell due. */
    static void advance(EmbeddedChannel client, Duration by) {
        client.advanceTimeBy(by.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        client.runPendingTasks();
    }

    void finish() {
        dials.forEach(d -> d.channel().finishAndReleaseAll());
        poolLoop.finishAndReleaseAll();
    }
}
