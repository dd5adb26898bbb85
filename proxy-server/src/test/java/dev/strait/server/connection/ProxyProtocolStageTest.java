package dev.strait.server.connection;

import static dev.strait.server.connection.EmbeddedRoute.advance;
import static dev.strait.server.connection.EmbeddedRoute.route;
import static dev.strait.server.connection.EmbeddedRoute.timeouts;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strait.config.AccessList;
import dev.strait.config.BackendSpec;
import dev.strait.config.Cidr;
import dev.strait.config.Limits;
import dev.strait.config.OnLimit;
import dev.strait.config.ProxyHeaderVersion;
import dev.strait.config.ProxyProtocol;
import dev.strait.config.Route;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import dev.strait.server.proxyprotocol.ProxyProtocolStage;
import dev.strait.server.support.TestRoutes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The PROXY protocol stage in a real client pipeline (the recipe, the owner, the gate and the connector), with
 * embedded channels: the header's source becomes the client before admission, the payload that came with the header
 * reaches the backend first and byte-exact, and every bad header closes the client with no backend chosen.
 */
class ProxyProtocolStageTest {
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(3);
    static final String V1 = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
    static final byte[] V2_TCP6 = hex("0d0a0d0a000d0a515549540a" + "21" + "21" + "0024"
            + "20010db8000000000000000000000010" + "00000000000000000000000000000001" + "04d2" + "1538");
    static final byte[] V2_LOCAL = hex("0d0a0d0a000d0a515549540a20000000");

    final List<String> errors = new ArrayList<>();
    private EmbeddedRoute route;

    @AfterEach
    void finish() {
        route.finish();
    }

    @Test
    void makesTheHeadersSourceTheClientAndHandsThePayloadThatCameWithItToTheBackendFirst() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        ProxiedConnection connection = route.connectionOf(client);
        assertThat(connection.state()).isEqualTo(new ConnectionState.Staging(ProxyProtocolStage.NAME, false));
        assertThat(connection.state().holdsSlot())
                .as("not admitted before the header")
                .isFalse();
        assertThat(route.runtime.metrics().active()).isZero();

        client.writeInbound(ascii(V1 + "GET / HTTP/1.1\r\n"));

        assertThat(connection.client()).isEqualTo(new InetSocketAddress("192.0.2.10", 56324));
        assertThat(connection.peer()).isEqualTo(client.remoteAddress());
        assertThat(client.pipeline().get(ProxyProtocolStage.NAME))
                .as("removed on hand-over")
                .isNull();
        assertThat(route.runtime.metrics().active()).isEqualTo(1);
        client.writeInbound(ascii("Host: x\r\n"));
        route.lastDial().promise().setSuccess();
        assertThat(read(route.lastDial().channel())).isEqualTo(bytes("GET / HTTP/1.1\r\nHost: x\r\n"));
        assertThat(client.finishAndReleaseAll()).isFalse();
        assertThat(route.runtime.metrics().active()).isZero();
    }

    @Test
    void readsAHeaderSplitAtEveryByteOffsetWithItsPayload() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        byte[] payload = bytes("payload after the header");
        for (byte[] header : List.of(bytes(V1), V2_TCP6, V2_LOCAL)) {
            byte[] all = concat(header, payload);
            for (int cut = 1; cut < all.length; cut++) {
                EmbeddedChannel client = route.accept();
                client.writeInbound(Unpooled.wrappedBuffer(all, 0, cut));
                client.writeInbound(Unpooled.wrappedBuffer(all, cut, all.length - cut));
                route.lastDial().promise().setSuccess();
                assertThat(read(route.lastDial().channel()))
                        .as("cut at %d", cut)
                        .isEqualTo(payload);
                assertThat(client.finishAndReleaseAll()).isFalse();
            }
            EmbeddedChannel byteByByte = route.accept();
            for (byte b : all) {
                byteByByte.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
            }
            route.lastDial().promise().setSuccess();
            assertThat(read(route.lastDial().channel())).isEqualTo(payload);
            byteByByte.finishAndReleaseAll();
        }
        assertThat(errors).isEmpty();
    }

    @Test
    void keepsTheTcpAddressesForALocalHeader() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        client.writeInbound(Unpooled.wrappedBuffer(V2_LOCAL));
        assertThat(route.connectionOf(client).client()).isEqualTo(client.remoteAddress());
        assertThat(route.dials).hasSize(1);
        client.finishAndReleaseAll();
    }

    @Test
    void readsAnIpv6SourceFromAV2Header() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        client.writeInbound(Unpooled.wrappedBuffer(V2_TCP6));
        assertThat(route.connectionOf(client).client()).isEqualTo(new InetSocketAddress("2001:db8::10", 1234));
        assertThat(route.connectionOf(client).destination()).isEqualTo(new InetSocketAddress("::1", 5432));
        client.finishAndReleaseAll();
    }

    @Test
    void closesAPeerOutsideTrustedSourcesAtOnceAsDenied() {
        route = proxied(Limits.NONE, AccessList.OPEN, "10.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.DENIED);
        assertThat(route.runtime.metrics().deniedTotal()).isEqualTo(1);
        assertThat(route.dials).isEmpty();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void judgesTheAllowAndDenyListsAgainstTheHeadersSource() {
        AccessList denyDocNet = new AccessList(List.of(), List.of(Cidr.parse("deny", "192.0.2.0/24")));
        route = proxied(Limits.NONE, denyDocNet, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel denied = route.accept();
        assertThat(denied.isOpen()).as("the peer (loopback) is not denied").isTrue();
        denied.writeInbound(ascii(V1 + "secret"));
        assertThat(denied.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.DENIED);
        assertThat(route.dials).isEmpty();

        EmbeddedChannel allowed = route.accept();
        allowed.writeInbound(ascii("PROXY TCP4 203.0.113.7 198.51.100.1 1 443\r\n"));
        assertThat(route.dials).hasSize(1);
        assertThat(denied.finishAndReleaseAll()).isFalse();
        allowed.finishAndReleaseAll();
    }

    @Test
    void countsPerSourceConnectionsByTheHeadersSource() {
        route = proxied(new Limits(0, OnLimit.REFUSE, 1, 0), AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel first = route.accept();
        first.writeInbound(ascii(V1));
        EmbeddedChannel sameSource = route.accept();
        sameSource.writeInbound(ascii(V1));
        EmbeddedChannel otherSource = route.accept();
        otherSource.writeInbound(ascii("PROXY TCP4 192.0.2.11 198.51.100.1 1 443\r\n"));

        assertThat(first.isOpen()).isTrue();
        assertThat(sameSource.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.LIMIT);
        assertThat(otherSource.isOpen()).isTrue();
        assertThat(route.dials).hasSize(2);
        first.finishAndReleaseAll();
        sameSource.finishAndReleaseAll();
        otherSource.finishAndReleaseAll();
        assertThat(route.runtime.metrics().active()).isZero();
    }

    @Test
    void waitsForASlotAfterTheHeaderInQueueMode() {
        route = proxied(new Limits(1, OnLimit.QUEUE, 0, 0), AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel first = route.accept();
        first.writeInbound(ascii(V1));
        EmbeddedChannel second = route.accept();
        second.writeInbound(ascii(V1 + "early"));
        assertThat(route.connectionOf(second).state().name()).isEqualTo("waiting-for-slot");

        first.finishAndReleaseAll();
        second.runPendingTasks();
        route.lastDial().promise().setSuccess();
        assertThat(read(route.lastDial().channel())).isEqualTo(bytes("early"));
        second.finishAndReleaseAll();
    }

    @Test
    void closesABadHeaderWithNoBackendChosenAndCountsItsReason() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii("GET / HTTP/1.1\r\n"));
        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.PROXY_PROTOCOL_ERROR);
        assertThat(errors).containsExactly("bad_signature");
        assertThat(route.dials).isEmpty();
        assertThat(route.runtime.metrics().active()).isZero();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void closesAClientWhoseFinComesBeforeTheWholeHeaderAsTruncated() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii("PROXY TCP4 192.0.2.10"));
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.PROXY_PROTOCOL_ERROR);
        assertThat(errors).containsExactly("truncated");
        assertThat(route.dials).isEmpty();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void closesAClientWithoutAWholeHeaderAtHeaderTimeout() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.OFF);
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii("PROXY TCP4 "));
        advance(client, HEADER_TIMEOUT.minusMillis(1));
        assertThat(client.isOpen()).isTrue();
        advance(client, Duration.ofMillis(1));
        assertThat(client.isOpen()).isFalse();
        assertThat(causeOf(0)).isEqualTo(CloseCause.PROXY_PROTOCOL_TIMEOUT);
        assertThat(CloseCause.PROXY_PROTOCOL_TIMEOUT.label()).isEqualTo("proxy_protocol_timeout");
        assertThat(route.dials).isEmpty();
        assertThat(client.finishAndReleaseAll()).isFalse();
    }

    @Test
    void sendsTheHeadersClientOnToABackendThatWantsAHeaderBeforeAnyPayload() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.V1);
        EmbeddedChannel client = route.accept();
        client.writeInbound(ascii(V1 + "hello"));
        route.lastDial().promise().setSuccess();
        assertThat(new String(read(route.lastDial().channel()), StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nhello");
        client.finishAndReleaseAll();

        route.finish();
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.V2);
        EmbeddedChannel v6 = route.accept();
        v6.writeInbound(Unpooled.wrappedBuffer(concat(V2_TCP6, bytes("x"))));
        route.lastDial().promise().setSuccess();
        assertThat(read(route.lastDial().channel())).isEqualTo(concat(V2_TCP6, bytes("x")));
        v6.finishAndReleaseAll();
    }

    @Test
    void sendsAV2LocalHeaderWhenTheClientIsNotAnIpAddress() {
        route = proxied(Limits.NONE, AccessList.OPEN, "127.0.0.0/8", ProxyHeaderVersion.V2);
        EmbeddedChannel client = route.accept();
        client.writeInbound(Unpooled.wrappedBuffer(concat(V2_LOCAL, bytes("q"))));
        route.lastDial().promise().setSuccess();
        assertThat(read(route.lastDial().channel())).isEqualTo(concat(V2_LOCAL, bytes("q")));
        client.finishAndReleaseAll();
    }

    @Test
    void aRouteWithoutProxyProtocolHasNoStage() {
        route = new EmbeddedRoute(
                route(1, 0, timeouts(Duration.ZERO, Duration.ZERO, Duration.ZERO), Limits.NONE, AccessList.OPEN));
        EmbeddedChannel client = route.accept();
        assertThat(client.pipeline().names()).doesNotContain(ProxyProtocolStage.NAME);
        client.finishAndReleaseAll();
    }

    /** A route that requires a PROXY header from peers in {@code trusted} and sends {@code send} to its backend. */
    EmbeddedRoute proxied(Limits limits, AccessList access, String trusted, ProxyHeaderVersion send) {
        Route base = route(1, 0, timeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ZERO), limits, access);
        BackendSpec b = base.backends().get(0);
        Route route = TestRoutes.from(base)
                .backendSpecs(List.of(new BackendSpec(b.address(), 1, 0, false, Optional.of(send), Optional.empty())))
                .proxyProtocol(new ProxyProtocol(
                        true, List.of(Cidr.parse("trustedSources", trusted)), HEADER_TIMEOUT, ProxyHeaderVersion.OFF))
                .build();
        return new EmbeddedRoute(route, List.of(ProxyProtocolStage.factory(HEADER_TIMEOUT, errors::add)));
    }

    private CloseCause causeOf(int i) {
        return ((ConnectionState.Closed) route.closed.get(i).state()).cause();
    }

    static byte[] read(EmbeddedChannel channel) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            all.writeBytes(ByteBufUtil.getBytes(b));
            b.release();
        }
        return all.toByteArray();
    }

    static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] hex(String hex) {
        return ByteBufUtil.decodeHexDump(hex);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
