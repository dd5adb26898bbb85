package dev.strait.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.TransportKind;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.StraitJar;
import dev.strait.server.support.Transports;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fat jar carries only the native libraries Strait loads (Linux epoll and io_uring, and BoringSSL for TLS on
 * linux-x86_64), and loads them from itself:
 * the shade filters that drop QUIC, kqueue, macOS and Windows libraries must not take a transport with them.
 */
class JarContentsIT {
    private static final Pattern NATIVE_LIBRARY = Pattern.compile(".*\\.(so|dll|jnilib|dylib)$");
    private static final Pattern LOADED_BY_STRAIT = Pattern.compile(
            "META-INF/native/libnetty_transport_native_(epoll|io_uring42)_(x86_64|aarch_64|riscv64)\\.so"
                    + "|META-INF/native/libnetty_tcnative_linux_x86_64\\.so"); // OpenSSL for TLS (tls.provider)

    @Test
    void carriesOnlyTheLinuxEpollAndIoUringLibraries() throws IOException {
        List<String> natives = nativeLibraries();
        assertThat(natives)
                .as("native libraries in the jar")
                .allMatch(name -> LOADED_BY_STRAIT.matcher(name).matches())
                .contains(
                        "META-INF/native/libnetty_transport_native_epoll_x86_64.so",
                        "META-INF/native/libnetty_transport_native_epoll_aarch_64.so",
                        "META-INF/native/libnetty_transport_native_io_uring42_x86_64.so",
                        "META-INF/native/libnetty_transport_native_io_uring42_aarch_64.so",
                        "META-INF/native/libnetty_tcnative_linux_x86_64.so");
        assertThat(natives)
                .as("left out: QUIC, kqueue, macOS, Windows")
                .noneMatch(name -> name.contains("quiche") || name.contains("kqueue") || name.contains("macos"));
    }

    /** The OpenSSL engine in the jar is Strait's patched copy (TLS 1.3 half-close), byte for byte the one built. */
    @Test
    void carriesThePatchedOpensslEngineAndNotNettys() throws IOException {
        String engine = "io/netty/handler/ssl/ReferenceCountedOpenSslEngine.class";
        byte[] built = Files.readAllBytes(Path.of("target", "classes").resolve(engine));
        try (JarFile file = new JarFile(Path.of("target", "proxy-server.jar").toFile())) {
            ZipEntry entry = file.getEntry(engine);
            assertThat(entry).as(engine).isNotNull();
            try (InputStream in = file.getInputStream(entry)) {
                assertThat(in.readAllBytes()).as("the jar's %s", engine).isEqualTo(built);
            }
        }
    }

    @Test
    void epollLoadsOnLinux() {
        assertThat(availableNativeTransports())
                .as("a Linux build machine runs epoll (on the test classpath)")
                .contains(TransportKind.EPOLL);
    }

    /** Every native transport this machine can run from the test classpath also runs from the jar. */
    @ParameterizedTest
    @MethodSource("availableNativeTransports")
    void loadsTheNativeTransportFromTheJar(TransportKind kind) throws Exception {
        try (LoopbackBackend backend = LoopbackBackend.echo();
                StraitJar strait = StraitJar.start(
                        "jar-contents-" + kind.configName(),
                        "--transport",
                        kind.configName(),
                        "--listen",
                        "127.0.0.1:0",
                        "--backend",
                        backend.address())) {
            strait.awaitLine(Pattern.compile("listening on 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:" + backend.port()
                    + " \\(transport " + Pattern.quote(kind.configName()) + "\\)"));
            strait.terminateAndAssertCleanExit();
        }
    }

    static Stream<TransportKind> availableNativeTransports() {
        return Transports.available().filter(kind -> kind != TransportKind.NIO);
    }

    private static List<String> nativeLibraries() throws IOException {
        Path jar = Path.of("target", "proxy-server.jar").toAbsolutePath();
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.stream()
                    .map(ZipEntry::getName)
                    .filter(name -> NATIVE_LIBRARY.matcher(name).matches())
                    .sorted()
                    .toList();
        }
    }
}
