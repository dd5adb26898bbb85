package dev.strait.server.tls;

import dev.strait.config.TlsProvider;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * Which implementation a {@link TlsProvider} stands for here. {@code auto} takes OpenSSL (BoringSSL, statically linked
 * in netty-tcnative-boringssl-static, shipped in the jar for linux-x86_64) when its native library loads: it
 * handshakes and encrypts with less CPU and garbage than the JDK's engine; else the JDK's.
 */
public final class Providers {
    private Providers() {}

    /** The provider {@code wanted} means on this machine; fails if {@code openssl} is forced but cannot load. */
    public static SslProvider resolve(TlsProvider wanted) {
        return switch (wanted) {
            case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
            case JDK -> SslProvider.JDK;
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    Throwable why = OpenSsl.unavailabilityCause();
                    throw new IllegalArgumentException("OpenSSL (netty-tcnative) is not available here"
                            + (why == null ? "" : ": " + why.getMessage()));
                }
                yield SslProvider.OPENSSL;
            }
        };
    }
}
