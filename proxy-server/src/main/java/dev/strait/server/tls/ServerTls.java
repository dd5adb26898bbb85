package dev.strait.server.tls;

import static java.util.Objects.requireNonNull;

import dev.strait.config.ClientAuth;
import dev.strait.config.TlsConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.Mapping;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import javax.security.auth.x500.X500Principal;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The server side of one terminating route: a context per configured certificate, picked by the client's SNI (the
 * exact name, then a one-label wildcard, then the first certificate), and rebuilt when the files change.
 *
 * <p>Reload: {@link #watch} checks the content of every file the route reads (cert, key, client CA), following
 * symlinks, so a Kubernetes secret's symlink swap counts as a change, every {@value #CHECK_MILLIS}ms on one shared
 * event loop (no thread). A changed set builds new contexts that new handshakes use; live connections keep the engine
 * they made from the old ones. A set that fails to build keeps the old contexts, logs one line and counts a failure.
 *
 * <p>Thread model: {@link #map} runs on any client event loop and reads a volatile snapshot; the check runs on the
 * watching loop.
 */
public final class ServerTls implements Mapping<String, SslContext> {
    static final long CHECK_MILLIS = 1000;
    private static final Logger log = LogManager.getLogger(ServerTls.class);

    /** One certificate's context and the names it serves. */
    public record Entry(String name, List<String> dnsNames, X509Certificate leaf, SslContext context) {}

    private final String route;
    private final TlsConfig config;
    private final SslProvider provider;
    private final AtomicLong reloadFailures = new AtomicLong();
    private volatile List<Entry> entries;
    private volatile String fingerprint;
    private String lastFailure;
    private ScheduledFuture<?> watch;
    private volatile Runnable onFailure = () -> {};

    private ServerTls(String route, TlsConfig config, SslProvider provider, List<Entry> entries, String fingerprint) {
        this.route = route;
        this.config = config;
        this.provider = provider;
        this.entries = entries;
        this.fingerprint = fingerprint;
    }

    /**
     * Loads every certificate of {@code config}; errors are {@link IllegalArgumentException}s whose message starts
     * with the key they concern ({@code tls.certificates[0].key: ...}).
     */
    public static ServerTls load(String route, TlsConfig config) {
        SslProvider provider;
        try {
            provider = Providers.resolve(config.provider());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tls.provider: " + e.getMessage(), e);
        }
        List<Entry> entries = build(config, provider, true); // first: its errors name the key
        return new ServerTls(route, config, provider, entries, fingerprint(config));
    }

    public SslProvider provider() {
        return provider;
    }

    public TlsConfig config() {
        return config;
    }

    /** The contexts new handshakes use now. */
    public List<Entry> entries() {
        return entries;
    }

    /** Reloads that failed since start (their files were broken; the old contexts stayed). */
    public long reloadFailures() {
        return reloadFailures.get();
    }

    /** The context for a client that asked for {@code sni} (null: none): exact, one-label wildcard, else the first. */
    @Override
    public SslContext map(String sni) {
        List<Entry> now = entries;
        if (sni != null && !sni.isEmpty()) {
            String name = sni.toLowerCase(Locale.ROOT);
            for (Entry e : now) {
                if (e.dnsNames().contains(name)) {
                    return e.context();
                }
            }
            int dot = name.indexOf('.');
            if (dot > 0) {
                String wildcard = "*" + name.substring(dot);
                for (Entry e : now) {
                    if (e.dnsNames().contains(wildcard)) {
                        return e.context();
                    }
                }
            }
        }
        return now.get(0).context();
    }

    /** Starts checking the files on {@code loop}; {@link #stop} ends it. */
    public synchronized void watch(ScheduledExecutorService loop, Runnable onReloadFailure) {
        if (watch == null) {
            onFailure = requireNonNull(onReloadFailure, "onReloadFailure");
            watch = loop.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    public synchronized void stop() {
        if (watch != null) {
            watch.cancel(false);
            watch = null;
        }
    }

    /** Rebuilds the contexts if any file's content changed; keeps the old ones if the new files are broken. */
    void check() {
        String now;
        try {
            now = fingerprint(config);
        } catch (IllegalArgumentException e) {
            failed(e);
            return;
        }
        if (now.equals(fingerprint)) {
            lastFailure = null;
            return;
        }
        fingerprint = now; // a broken set is reported once, not every check, until its files change again
        try {
            entries = build(config, provider, false);
            lastFailure = null;
            log.info("route {}: TLS certificates reloaded ({})", route, describe(entries));
        } catch (IllegalArgumentException e) {
            failed(e);
        }
    }

    private void failed(IllegalArgumentException e) {
        if (e.getMessage().equals(lastFailure)) {
            return; // the same broken state as at the last check: reported once
        }
        lastFailure = e.getMessage();
        reloadFailures.incrementAndGet();
        onFailure.run();
        log.warn("route {}: TLS reload failed, keeping the previous certificates: {}", route, e.getMessage());
    }

    private static String describe(List<Entry> entries) {
        List<String> names = new ArrayList<>();
        entries.forEach(
                e -> names.add(e.name() + " until " + e.leaf().getNotAfter().toInstant()));
        return String.join(", ", names);
    }

    private static List<Entry> build(TlsConfig config, SslProvider provider, boolean atStart) {
        List<X509Certificate> trusted = null;
        if (config.clientAuth() != ClientAuth.NONE) {
            Path ca = config.clientCa().orElseThrow();
            trusted = read("tls.clientCa", () -> Pem.certificates(ca));
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < config.certificates().size(); i++) {
            TlsConfig.Certificate c = config.certificates().get(i);
            String at = "tls.certificates[" + i + "]";
            List<X509Certificate> chain = read(at + ".cert", () -> Pem.certificates(c.cert()));
            PrivateKey key = read(at + ".key", () -> Pem.privateKey(c.key()));
            X509Certificate leaf = chain.get(0);
            read(at + ".key", () -> {
                Pem.requireMatch(key, leaf);
                return null;
            });
            try {
                leaf.checkValidity();
            } catch (CertificateExpiredException e) {
                if (!config.allowExpired()) {
                    throw new IllegalArgumentException(at + ".cert: the certificate expired on "
                            + leaf.getNotAfter().toInstant() + " (allowExpired: true starts anyway)");
                }
                if (atStart) {
                    log.warn("{} {} expired on {}; serving it (allowExpired)", at, c.cert(), leaf.getNotAfter());
                }
            } catch (CertificateNotYetValidException e) {
                log.warn("{} {} is not valid before {}", at, c.cert(), leaf.getNotBefore());
            }
            SslContextBuilder b = SslContextBuilder.forServer(key, chain)
                    .sslProvider(provider)
                    .protocols(config.protocols());
            if (trusted != null) {
                b.clientAuth(
                                config.clientAuth() == ClientAuth.REQUIRE
                                        ? io.netty.handler.ssl.ClientAuth.REQUIRE
                                        : io.netty.handler.ssl.ClientAuth.OPTIONAL)
                        .trustManager(trusted);
            }
            if (!config.alpn().isEmpty()) {
                b.applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        config.alpn()));
            }
            SslContext context;
            try {
                context = b.build();
            } catch (SSLException | RuntimeException e) {
                throw new IllegalArgumentException(at + ": cannot build a TLS context: " + e.getMessage(), e);
            }
            List<String> names = dnsNames(leaf);
            out.add(new Entry(
                    names.isEmpty() ? c.cert().getFileName().toString() : names.get(0), names, leaf, context));
        }
        return List.copyOf(out);
    }

    /** The leaf's DNS subject alternative names, lower case; its CN if it has none. */
    static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            if (leaf.getSubjectAlternativeNames() != null) {
                for (List<?> san : leaf.getSubjectAlternativeNames()) {
                    if (Integer.valueOf(2).equals(san.get(0))) {
                        names.add(String.valueOf(san.get(1)).toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no usable SANs: fall back to the CN
        }
        if (names.isEmpty()) {
            String dn = leaf.getSubjectX500Principal().getName(X500Principal.RFC2253);
            for (String part : dn.split(",")) {
                if (part.startsWith("CN=")) {
                    names.add(part.substring(3).toLowerCase(Locale.ROOT));
                }
            }
        }
        return List.copyOf(names);
    }

    /** The SHA-256 of every file's content, in order, read through any symlink. */
    private static String fingerprint(TlsConfig config) {
        List<Path> files = new ArrayList<>();
        config.certificates().forEach(c -> {
            files.add(c.cert());
            files.add(c.key());
        });
        config.clientCa().ifPresent(files::add);
        return FileFingerprint.of(files);
    }

    private interface Reader<T> {
        T read();
    }

    private static <T> T read(String key, Reader<T> reader) {
        try {
            return requireNonNull(reader, "reader").read();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }
}
