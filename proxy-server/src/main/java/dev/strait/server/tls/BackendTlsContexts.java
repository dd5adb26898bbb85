package dev.strait.server.tls;

import static java.util.Objects.requireNonNull;

import dev.strait.config.BackendSpec;
import dev.strait.config.BackendTls;
import dev.strait.config.Route;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The client side of TLS to a route's backends: one context per distinct {@code backendTls} block, and per backend
 * the name it is verified against (and sent as SNI). Shared by the relay's connects and the health checks.
 *
 * <p>Reload: {@link #watch} checks the content of each block's files ({@code ca}, {@code cert}, {@code key}),
 * following symlinks (a Kubernetes secret's symlink swap counts), every {@value #CHECK_MILLIS}ms on one shared event
 * loop, as {@link ServerTls} does for the client side. A change builds a new context that new backend connections
 * (and health checks) use; live connections keep the engine they made from the old one. Files that do not build keep
 * the old context, log one line and count a failure.
 *
 * <p>Thread model: {@link Target#newHandler} runs on any event loop and reads a volatile context; the check runs on
 * the watching loop.
 */
public final class BackendTlsContexts {
    static final long CHECK_MILLIS = 1000;
    private static final Logger log = LogManager.getLogger(BackendTlsContexts.class);

    /** How to speak TLS to one configured backend. */
    public record Target(Source source, String serverName, boolean verify) {
        /** The context new connections use now. */
        public SslContext context() {
            return source.context();
        }

        /** A new handler for a connection to {@code address}, from the context of now. */
        public SslHandler newHandler(ByteBufAllocator alloc, InetSocketAddress address) {
            return context()
                    .newHandler(alloc, serverName == null ? address.getHostString() : serverName, address.getPort());
        }
    }

    /** One distinct {@code backendTls} block: its context of now and the fingerprint of the files it was built from. */
    public static final class Source {
        private final String prefix;
        private final BackendTls tls;
        private volatile SslContext context;
        private String fingerprint;
        private String lastFailure;

        Source(String prefix, BackendTls tls) {
            this.prefix = prefix;
            this.tls = tls;
            this.context = BackendTlsContexts.context(prefix, tls); // first: its errors name the key
            try {
                this.fingerprint = fingerprint(tls);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(prefix + ": " + e.getMessage(), e);
            }
        }

        public SslContext context() {
            return context;
        }

        /** Whether the block reads any file (else there is nothing to watch: the JVM's trust store, no certificate). */
        boolean readsFiles() {
            return tls.ca().isPresent() || tls.cert().isPresent();
        }

        /** Rebuilds the context if a file's content changed; the failure's message if the new files are broken. */
        String check(String route) {
            String now;
            try {
                now = fingerprint(tls);
            } catch (IllegalArgumentException e) {
                return failed(route, prefix + ": " + e.getMessage());
            }
            if (now.equals(fingerprint)) {
                lastFailure = null;
                return null;
            }
            fingerprint = now; // a broken set is reported once, not every check, until its files change again
            try {
                context = BackendTlsContexts.context(prefix, tls);
                lastFailure = null;
                log.info("route {}: {} files reloaded; new backend connections use them", route, prefix);
                return null;
            } catch (IllegalArgumentException e) {
                return failed(route, e.getMessage());
            }
        }

        private String failed(String route, String message) {
            if (message.equals(lastFailure)) {
                return null; // the same broken state as at the last check: reported once
            }
            lastFailure = message;
            log.warn("route {}: backend TLS reload failed, keeping the previous context: {}", route, message);
            return message;
        }
    }

    /** Backends that speak plain TCP. */
    public static final BackendTlsContexts NONE = new BackendTlsContexts("-", Map.of(), List.of());

    private final String route;
    private final Map<String, Target> bySpec;
    private final List<Source> sources;
    private final AtomicLong reloadFailures = new AtomicLong();
    private ScheduledFuture<?> watch;
    private volatile Runnable onFailure = () -> {};

    private BackendTlsContexts(String route, Map<String, Target> bySpec, List<Source> sources) {
        this.route = route;
        this.bySpec = Map.copyOf(bySpec);
        this.sources = List.copyOf(sources);
    }

    public boolean isEmpty() {
        return bySpec.isEmpty();
    }

    /**
     * Builds the contexts of {@code route}; errors are {@link IllegalArgumentException}s whose message starts with the
     * key concerned ({@code backendTls.ca: ...} or {@code backends[1].backendTls.ca: ...}).
     */
    public static BackendTlsContexts build(Route route) {
        if (!route.anyTls()) {
            return NONE;
        }
        Map<BackendTls, Source> sources = new LinkedHashMap<>();
        Map<String, Target> targets = new HashMap<>();
        for (int i = 0; i < route.backends().size(); i++) {
            BackendSpec spec = route.backends().get(i);
            Optional<BackendTls> tls = route.backendTlsFor(spec);
            if (tls.isEmpty()) {
                continue;
            }
            BackendTls t = tls.get();
            String prefix = spec.backendTls().isPresent() ? "backends[" + i + "].backendTls" : "backendTls";
            Source source = sources.get(t);
            if (source == null) {
                source = new Source(prefix, t);
                sources.put(t, source);
            }
            String host = spec.address().host();
            boolean ip = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
            String name = t.serverName().orElse(ip ? null : host);
            if (name == null && t.verify()) {
                throw new IllegalArgumentException(
                        prefix + ".serverName: is required to verify the IP-addressed backend " + spec.address()
                                + " (or set verify: false)");
            }
            targets.put(spec.address().toString(), new Target(source, name, t.verify()));
        }
        return new BackendTlsContexts(route.name(), targets, List.copyOf(sources.values()));
    }

    /** How to reach the backend named {@code backendName} ({@code host:port}, maybe with its resolved IP after). */
    public Optional<Target> forBackend(String backendName) {
        if (bySpec.isEmpty()) {
            return Optional.empty();
        }
        Target t = bySpec.get(backendName);
        if (t == null) {
            int space = backendName.indexOf(" (");
            if (space > 0) {
                t = bySpec.get(backendName.substring(0, space));
            }
        }
        return Optional.ofNullable(t);
    }

    /** Reloads that failed since start (their files were broken; the old contexts stayed). */
    public long reloadFailures() {
        return reloadFailures.get();
    }

    /** Starts checking the files on {@code loop} (if any block reads files); {@link #stop} ends it. */
    public synchronized void watch(ScheduledExecutorService loop, Runnable onReloadFailure) {
        requireNonNull(onReloadFailure, "onReloadFailure");
        if (watch == null && sources.stream().anyMatch(Source::readsFiles)) {
            onFailure = onReloadFailure;
            watch = loop.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    public synchronized void stop() {
        if (watch != null) {
            watch.cancel(false);
            watch = null;
        }
    }

    /** Checks every block that reads files; each is rebuilt, or kept and counted, on its own. */
    void check() {
        for (Source s : sources) {
            if (s.readsFiles() && s.check(route) != null) {
                reloadFailures.incrementAndGet();
                onFailure.run();
            }
        }
    }

    /** The SHA-256 of every file the block reads, in order, through any symlink. */
    private static String fingerprint(BackendTls t) {
        List<Path> files = new ArrayList<>(3);
        t.ca().ifPresent(files::add);
        t.cert().ifPresent(files::add);
        t.key().ifPresent(files::add);
        return FileFingerprint.of(files);
    }

    private static SslContext context(String prefix, BackendTls t) {
        // The JDK's engine: after Strait's close_notify (a client's half-close passed on) it still reads the backend's
        // answer, where Netty's OpenSSL engine stops reading too.
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(SslProvider.JDK);
        if (!t.verify()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            b.endpointIdentificationAlgorithm("HTTPS");
            if (t.ca().isPresent()) {
                List<X509Certificate> ca = read(prefix + ".ca", () -> Pem.certificates(t.ca().get()));
                b.trustManager(ca);
            }
        }
        if (t.cert().isPresent()) {
            List<X509Certificate> chain =
                    read(prefix + ".cert", () -> Pem.certificates(t.cert().get()));
            PrivateKey key = read(prefix + ".key", () -> Pem.privateKey(t.key().orElseThrow()));
            read(prefix + ".key", () -> {
                Pem.requireMatch(key, chain.get(0));
                return null;
            });
            b.keyManager(key, chain);
        }
        if (!t.alpn().isEmpty()) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    t.alpn()));
        }
        try {
            return b.build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException(prefix + ": cannot build a TLS context: " + e.getMessage(), e);
        }
    }

    private interface Reader<T> {
        T read();
    }

    private static <T> T read(String key, Reader<T> reader) {
        try {
            return reader.read();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }
}
