package dev.strait.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strait.server.listen.Listeners;
import dev.strait.server.support.LoopbackBackend;
import dev.strait.server.support.Ports;
import dev.strait.server.support.StraitJar;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The PROXY protocol with the real peers users put around Strait: HAProxy 2.6 ({@code send-proxy-v2}) and
 * {@code curl --haproxy-protocol} in front, nginx {@code stream} ({@code proxy_protocol on}) behind, over IPv4 and
 * IPv6 loopback; the client an allow/deny list, {@code /connections} and the logs see is the original one; a trusted
 * and an untrusted source; 2,000 connections that never send a header all close at {@code headerTimeout} and the
 * jar's descriptors return to their baseline. Strait runs as the built jar.
 */
class ProxyProtocolPeersIT {
    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Path dir;
    private static LoopbackBackend echo;
    private static Daemon nginx;
    private static Daemon haproxy;
    private static StraitJar strait;
    // Strait's listeners
    private static int front; // accepts a header (trusts 127.0.0.1, 127.0.0.2, ::1), denies 127.0.0.4, v1 to nginx
    private static int toEcho; // accepts a header, relays to an echo backend in this JVM
    private static int dead; // accepts a header, its backend refuses
    private static int slow; // accepts a header within HEADER_TIMEOUT
    private static int plainV6; // [::1], no header in, v2 to nginx
    // HAProxy's frontends, each sending v2 to one Strait listener
    private static int haFront;
    private static int haFront6;
    private static int haEcho;
    private static int haEcho6;
    private static int haDead;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createDirectories(Path.of("target", "proxy-protocol-it").toAbsolutePath());
        int nginxPort = Ports.freePort();
        nginx = Daemon.start(
                "nginx",
                List.of(
                        Binaries.require("nginx", "nginx").toString(),
                        "-e",
                        "stderr",
                        "-p",
                        dir.toString(),
                        "-c",
                        write("nginx.conf", nginxConf(nginxPort)).toString()),
                dir,
                Fixtures.logFile(ProxyProtocolPeersIT.class, "nginx"),
                log -> accepts(nginxPort),
                Duration.ofSeconds(30));
        echo = LoopbackBackend.echo();
        front = Ports.freePort();
        toEcho = Ports.freePort();
        dead = Ports.freePort();
        slow = Ports.freePort();
        plainV6 = Ports.freePort();
        Path config = write(
                "strait.yaml",
                """
                admin: { listen: 127.0.0.1:0 }
                routes:
                  - name: front
                    listen: 127.0.0.1:%d
                    proxyProtocol: { accept: true, trustedSources: [127.0.0.1/32, 127.0.0.2/32, "::1/128"] }
                    deny: [127.0.0.4/32]
                    sendProxyProtocol: v1
                    backends: [127.0.0.1:%d]
                  - name: echo
                    listen: 127.0.0.1:%d
                    proxyProtocol: { accept: true, trustedSources: [127.0.0.1/32] }
                    backends: [%s]
                  - name: dead
                    listen: 127.0.0.1:%d
                    proxyProtocol: { accept: true, trustedSources: [127.0.0.1/32] }
                    retries: 0
                    backends: [127.0.0.1:%d]
                  - name: slow
                    listen: 127.0.0.1:%d
                    proxyProtocol: { accept: true, trustedSources: [127.0.0.0/8], headerTimeout: %dms }
                    backends: [127.0.0.1:%d]
                  - name: plain6
                    listen: "[::1]:%d"
                    sendProxyProtocol: v2
                    backends: [127.0.0.1:%d]
                """
                        .formatted(
                                front,
                                nginxPort,
                                toEcho,
                                echo.address(),
                                dead,
                                Ports.freePort(),
                                slow,
                                HEADER_TIMEOUT.toMillis(),
                                nginxPort,
                                plainV6,
                                nginxPort));
        strait = StraitJar.start("ProxyProtocolPeersIT", "--config", config.toString());
        strait.awaitListening(4);
        strait.awaitAdmin();
        haFront = Ports.freePort();
        haFront6 = Ports.freePort();
        haEcho = Ports.freePort();
        haEcho6 = Ports.freePort();
        haDead = Ports.freePort();
        haproxy = Daemon.start(
                "haproxy",
                List.of(
                        Binaries.require("haproxy", "haproxy").toString(),
                        "-db",
                        "-f",
                        write("haproxy.cfg", haproxyConf()).toString()),
                dir,
                Fixtures.logFile(ProxyProtocolPeersIT.class, "haproxy"),
                log -> accepts(haFront) && accepts(haEcho) && accepts(haDead),
                Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            assertThat(strait.process().isAlive()).as("Strait still runs").isTrue();
        } finally {
            haproxy.close();
            nginx.close();
            echo.close();
            strait.close();
        }
    }

    @Test
    void nginxBehindSeesTheClientHaproxyNamedForIpv4AndIpv6() throws Exception {
        try (Socket client = connect("127.0.0.2", new InetSocketAddress("127.0.0.1", haFront))) {
            assertThat(readLine(client))
                    .as("nginx's $proxy_protocol_addr:$proxy_protocol_port through HAProxy (v2) and Strait (v1)")
                    .isEqualTo("127.0.0.2:" + client.getLocalPort());
        }
        try (Socket client = connect("::1", new InetSocketAddress("::1", haFront6))) {
            assertThat(readLine(client)).isEqualTo("::1:" + client.getLocalPort());
        }
    }

    @Test
    void nginxBehindSeesTheRealIpv6ClientInAV2Header() throws Exception {
        try (Socket client = connect("::1", new InetSocketAddress("::1", plainV6))) {
            assertThat(readLine(client)).isEqualTo("::1:" + client.getLocalPort());
        }
    }

    @Test
    void theDenyListJudgesTheClientTheHeaderNamesNotTheBalancer() throws Exception {
        try (Socket denied = connect("127.0.0.4", new InetSocketAddress("127.0.0.1", haFront))) {
            assertThat(denied.getInputStream().readAllBytes())
                    .as("nothing from nginx for a client on the deny list")
                    .isEmpty();
        }
        try (Socket allowed = connect("127.0.0.3", new InetSocketAddress("127.0.0.1", haFront))) {
            assertThat(readLine(allowed)).isEqualTo("127.0.0.3:" + allowed.getLocalPort());
        }
    }

    @Test
    void connectionsShowsTheClientTheHeaderNamedAndTheBalancerAsPeer() throws Exception {
        for (String[] c : new String[][] {{"127.0.0.2", "127.0.0.1", "" + haEcho}, {"::1", "::1", "" + haEcho6}}) {
            try (Socket client = connect(c[0], new InetSocketAddress(c[1], Integer.parseInt(c[2])))) {
                client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                assertThat(client.getInputStream().readNBytes(4)).isEqualTo("ping".getBytes(StandardCharsets.US_ASCII));
                String expected = Listeners.format(client.getLocalSocketAddress());
                List<JsonNode> all = connections();
                JsonNode mine = all.stream()
                        .filter(n -> n.path("route").asText().equals("echo"))
                        .filter(n -> n.path("client").asText().equals(expected))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no connection of client " + expected + " in " + all));
                assertThat(mine.path("peer").asText())
                        .as("the TCP peer: HAProxy's own address")
                        .startsWith("127.0.0.1:")
                        .isNotEqualTo(expected);
                assertThat(mine.path("state").asText()).isEqualTo("relaying");
            }
        }
    }

    @Test
    void theLogNamesTheClientTheHeaderNamed() throws Exception {
        try (Socket client = connect("127.0.0.2", new InetSocketAddress("127.0.0.1", haDead))) {
            assertThat(client.getInputStream().readAllBytes()).isEmpty();
            strait.awaitLine(Pattern.compile("frontend 127\\.0\\.0\\.2:" + client.getLocalPort()
                    + " via 127\\.0\\.0\\.1:\\d+ -> route dead: no backend accepted"));
        }
    }

    @Test
    void curlWithHaproxyProtocolFromATrustedSourceIsServedAndFromAnUntrustedOneClosed() throws Exception {
        Command.Result trusted = curl("127.0.0.2");
        assertThat(trusted.output())
                .as("nginx's answer through Strait for curl's own header; %s", trusted)
                .matches("127\\.0\\.0\\.2:\\d+\\n?");
        Command.Result untrusted = curl("127.0.0.3");
        assertThat(untrusted.exitCode())
                .as("curl's exit code for a connection closed without a reply (52: empty reply); %s", untrusted)
                .isIn(52, 55, 56); // empty reply, send failure or receive failure: closed either way
        assertThat(untrusted.output()).doesNotContain("127.0.0.3:");
    }

    @Test
    void closesABadHeaderAtOnceAndCountsItsReason() throws Exception {
        long before = metricOrZero("strait_proxy_protocol_errors_total{reason=\"bad_signature\",route=\"front\"}");
        try (Socket client = connect("127.0.0.1", new InetSocketAddress("127.0.0.1", front))) {
            client.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(client.getInputStream().readAllBytes())
                    .as("nothing from nginx for a client whose header is bad")
                    .isEmpty();
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() ->
                        metricOrZero("strait_proxy_protocol_errors_total{reason=\"bad_signature\",route=\"front\"}")
                                == before + 1);
    }

    @Test
    void twoThousandHeaderlessConnectionsCloseAtHeaderTimeoutAndReleaseTheirDescriptors() throws Exception {
        long pid = strait.process().pid();
        await().atMost(Duration.ofSeconds(30)).until(() -> strait.connectionCount() == 0);
        int baseline = descriptors(pid);
        int n = 2000;
        List<long[]> times = new ArrayList<>(n);
        // A thread of its own notes each close as it happens, whatever the test thread is doing.
        Queue<long[]> toWatch = new ConcurrentLinkedQueue<>();
        Queue<SocketChannel> channels = new ConcurrentLinkedQueue<>();
        AtomicInteger closed = new AtomicInteger();
        try (Selector selector = Selector.open()) {
            Thread recorder = new Thread(
                    () -> {
                        try {
                            while (closed.get() < n && !Thread.currentThread().isInterrupted()) {
                                for (SocketChannel ch; (ch = channels.poll()) != null; ) {
                                    ch.register(selector, SelectionKey.OP_READ, toWatch.poll());
                                }
                                closed.addAndGet(closes(selector, 50));
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    },
                    "close-recorder");
            recorder.start();
            for (int i = 0; i < n; i++) {
                if (i % 250 == 0 && i > 0) {
                    // Paced so the listen backlog never overflows: a connection the kernel had to retry would reach
                    // Strait a second or more after the client's connect returned, and look late through no fault
                    // of the timer under test. Strait holds one descriptor per client it accepted.
                    int made = i;
                    await().atMost(Duration.ofSeconds(30))
                            .pollInterval(Duration.ofMillis(20))
                            .until(() -> descriptors(pid) - baseline + closed.get() >= made);
                }
                SocketChannel ch = SocketChannel.open();
                ch.connect(new InetSocketAddress("127.0.0.1", slow));
                ch.configureBlocking(false);
                long[] t = {System.nanoTime(), 0};
                times.add(t);
                toWatch.add(t);
                channels.add(ch);
                selector.wakeup();
            }
            recorder.join(Duration.ofSeconds(60).toMillis());
            recorder.interrupt();
            recorder.join();
            for (SelectionKey key : selector.keys()) {
                key.channel().close();
            }
            assertThat(n - closed.get()).as("connections still open after 60s").isZero();
        }
        long low = HEADER_TIMEOUT.toMillis() * 8 / 10;
        long high = HEADER_TIMEOUT.toMillis() * 12 / 10;
        List<Long> lifetimes =
                times.stream().map(t -> (t[1] - t[0]) / 1_000_000).sorted().toList();
        assertThat(lifetimes)
                .as("milliseconds each connection lived (min %d, max %d)", lifetimes.get(0), lifetimes.get(n - 1))
                .allMatch(ms -> ms >= low && ms <= high);
        await("descriptors of the jar back to " + baseline)
                .atMost(Duration.ofSeconds(30))
                .until(() -> descriptors(pid) <= baseline);
        assertThat(metric("strait_connections_active{route=\"slow\"}")).isZero();
    }

    /** Waits up to {@code millis} (0: not at all) for closes; records each one's time; returns how many. */
    private static int closes(Selector selector, long millis) throws IOException {
        if (millis == 0) {
            selector.selectNow();
        } else {
            selector.select(millis);
        }
        ByteBuffer buffer = ByteBuffer.allocate(64);
        int n = 0;
        for (SelectionKey key : selector.selectedKeys()) {
            SocketChannel ch = (SocketChannel) key.channel();
            int read;
            try {
                buffer.clear();
                read = ch.read(buffer);
            } catch (IOException reset) {
                read = -1;
            }
            assertThat(read)
                    .as("bytes from Strait to a client that sent no header")
                    .isLessThanOrEqualTo(0);
            if (read < 0) {
                ((long[]) key.attachment())[1] = System.nanoTime();
                key.cancel();
                ch.close();
                n++;
            }
        }
        selector.selectedKeys().clear();
        return n;
    }

    private static Command.Result curl(String source) throws Exception {
        return Command.run(
                Duration.ofSeconds(30),
                java.util.Map.of(),
                List.of(
                        Binaries.require("curl", "curl").toString(),
                        "--silent",
                        "--max-time",
                        "10",
                        "--haproxy-protocol",
                        "--http0.9",
                        "--interface",
                        source,
                        "http://127.0.0.1:" + front + "/"));
    }

    private static List<JsonNode> connections() throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + strait.awaitAdmin() + "/connections"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode root = JSON.readTree(r.body());
        JsonNode list = root.isArray() ? root : root.path("connections");
        List<JsonNode> out = new ArrayList<>();
        list.forEach(out::add);
        return out;
    }

    private static long metric(String series) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + strait.awaitAdmin() + "/metrics"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body()
                .lines()
                .filter(l -> l.startsWith(series + " "))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + series + " in " + r.body()));
    }

    private static long metricOrZero(String series) throws Exception {
        try {
            return metric(series);
        } catch (AssertionError absent) {
            return 0;
        }
    }

    private static int descriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        }
    }

    private static Socket connect(String source, InetSocketAddress target) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
        socket.connect(target, 5000);
        socket.setSoTimeout(15_000);
        return socket;
    }

    private static String readLine(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    private static Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static String nginxConf(int port) {
        return """
                load_module /usr/lib/nginx/modules/ngx_stream_module.so;
                daemon off;
                master_process off;
                pid %s/nginx.pid;
                error_log stderr notice;
                events { worker_connections 1024; }
                stream {
                    server {
                        listen 127.0.0.1:%d proxy_protocol;
                        return "$proxy_protocol_addr:$proxy_protocol_port\\n";
                    }
                }
                """
                .formatted(dir, port);
    }

    private static String haproxyConf() {
        return """
                global
                    maxconn 4096
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend front
                    bind 127.0.0.1:%d
                    default_backend front
                frontend front6
                    bind [::1]:%d
                    default_backend front
                backend front
                    server strait 127.0.0.1:%d send-proxy-v2
                frontend echo
                    bind 127.0.0.1:%d
                    bind [::1]:%d
                    default_backend echo
                backend echo
                    server strait 127.0.0.1:%d send-proxy-v2
                frontend dead
                    bind 127.0.0.1:%d
                    default_backend dead
                backend dead
                    server strait 127.0.0.1:%d send-proxy-v2
                """
                .formatted(haFront, haFront6, front, haEcho, haEcho6, toEcho, haDead, dead);
    }
}
