package dev.strait.server.tls;

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
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * The client side of TLS to a route's backends: one context per distinct {@code backendTls} block, and per backend
 * the name it is verified against (and sent as SNI). Shared by the relay's connects and the health checks.
 */
public final class BackendTlsContexts {
    /** How to speak TLS to one configured backend. */
    public record Target(SslContext context, String serverName, boolean verify) {
        /** A new handler for a connection to {@code address}. */
        public SslHandler newHandler(ByteBufAllocator alloc, InetSocketAddress address) {
            return context.newHandler(
                    alloc, serverName == null ? address.getHostString() : serverName, address.getPort());
        }
    }

    /** Backends that speak plain TCP. */
    public static final BackendTlsContexts NONE = new BackendTlsContexts(Map.of());

    private final Map<String, Target> bySpec;

    private BackendTlsContexts(Map<String, Target> bySpec) {
        this.bySpec = Map.copyOf(bySpec);
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
        Map<BackendTls, SslContext> contexts = new HashMap<>();
        Map<String, Target> targets = new HashMap<>();
        for (int i = 0; i < route.backends().size(); i++) {
            BackendSpec spec = route.backends().get(i);
            Optional<BackendTls> tls = route.backendTlsFor(spec);
            if (tls.isEmpty()) {
                continue;
            }
            BackendTls t = tls.get();
            String prefix = spec.backendTls().isPresent() ? "backends[" + i + "].backendTls" : "backendTls";
            SslContext context = contexts.get(t);
            if (context == null) {
                context = context(prefix, t);
                contexts.put(t, context);
            }
            String host = spec.address().host();
            boolean ip = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
            String name = t.serverName().orElse(ip ? null : host);
            if (name == null && t.verify()) {
                throw new IllegalArgumentException(
                        prefix + ".serverName: is required to verify the IP-addressed backend " + spec.address()
                                + " (or set verify: false)");
            }
            targets.put(spec.address().toString(), new Target(context, name, t.verify()));
        }
        return new BackendTlsContexts(targets);
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
