package dev.strait.server.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryEncoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseDecoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DnsTestServerTest {
    private static final String NAME = "db.strait.test";

    private DnsTestServer server;
    private EventLoopGroup clientGroup;
    private final List<DnsNameResolver> resolvers = new ArrayList<>();

    @BeforeEach
    void start() {
        server = DnsTestServer.start();
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        resolvers.forEach(DnsNameResolver::close);
        clientGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        server.close();
    }

    @Test
    void resolvesEveryAddressSetForAName() throws Exception {
        server.set(NAME, 60, "127.0.0.2", "127.0.0.3");

        assertThat(resolveAll(uncachedResolver(ResolvedAddressTypes.IPV4_ONLY), NAME))
                .containsExactlyInAnyOrder("127.0.0.2", "127.0.0.3");
    }

    @Test
    void seesTheNewAnswerOnceSetReplacesIt() throws Exception {
        DnsNameResolver resolver = uncachedResolver(ResolvedAddressTypes.IPV4_ONLY);
        server.set(NAME, 60, "127.0.0.2");
        assertThat(resolveAll(resolver, NAME)).containsExactly("127.0.0.2");

        server.set(NAME, 60, "127.0.0.3", "127.0.0.4");

        assertThat(resolveAll(resolver, NAME)).containsExactlyInAnyOrder("127.0.0.3", "127.0.0.4");
    }

    @Test
    void failsWithUnknownHostOnceANameIsRemoved() throws Exception {
        DnsNameResolver resolver = uncachedResolver(ResolvedAddressTypes.IPV4_ONLY);
        server.set(NAME, 60, "127.0.0.2");
        assertThat(resolveAll(resolver, NAME)).containsExactly("127.0.0.2");

        server.remove(NAME);

        assertThatThrownBy(() -> resolveAll(resolver, NAME))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(UnknownHostException.class);
    }

    @Test
    void countsEveryQueryForANameWhateverItsCaseOrTrailingDot() throws Exception {
        DnsNameResolver resolver = uncachedResolver(ResolvedAddressTypes.IPV4_ONLY);
        server.set("Db.Strait.Test.", 60, "127.0.0.2");
        assertThat(server.queryCount(NAME)).isZero();

        resolveAll(resolver, "DB.strait.test");
        resolveAll(resolver, NAME + ".");

        assertThat(server.queryCount("db.STRAIT.test.")).isEqualTo(2);
        assertThat(server.queryCount("other.strait.test")).isZero();
    }

    @Test
    void resolvesAnIpv4OnlyNameWhenIpv4IsPreferred() throws Exception {
        server.set(NAME, 60, "127.0.0.2");

        // The query timeout outlasts the wait below, so an unanswered AAAA query would fail this test.
        assertThat(resolveAll(uncachedResolver(ResolvedAddressTypes.IPV4_PREFERRED), NAME))
                .containsExactly("127.0.0.2");
        assertThat(server.queryCount(NAME)).isEqualTo(2); // A and AAAA
    }

    @Test
    void answersEachAddressFamilyWithItsOwnRecordType() throws Exception {
        server.set(NAME, 60, "127.0.0.2", "::1");

        assertThat(resolveAll(uncachedResolver(ResolvedAddressTypes.IPV4_ONLY), NAME))
                .containsExactly("127.0.0.2");
        assertThat(resolveAll(uncachedResolver(ResolvedAddressTypes.IPV6_ONLY), NAME))
                .containsExactly("0:0:0:0:0:0:0:1");
    }

    @Test
    void cachingResolverAsksAgainOnceTheTtlExpires() throws Exception {
        DnsNameResolver resolver = resolver(ResolvedAddressTypes.IPV4_ONLY).build();
        resolvers.add(resolver);
        server.set(NAME, 1, "127.0.0.2");
        assertThat(resolveAll(resolver, NAME)).containsExactly("127.0.0.2");

        server.set(NAME, 1, "127.0.0.3");
        assertThat(resolveAll(resolver, NAME)).containsExactly("127.0.0.2");
        assertThat(server.queryCount(NAME)).isEqualTo(1);

        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(resolveAll(resolver, NAME)).containsExactly("127.0.0.3"));
        assertThat(server.queryCount(NAME)).isEqualTo(2);
    }

    @Test
    void answersAKnownNameWithoutRecordsOfTheAskedTypeWithNoErrorAndNoAnswers() throws Exception {
        server.set(NAME, 60, "127.0.0.2");

        DatagramDnsResponse response = exchange(4242, NAME + ".", DnsRecordType.AAAA);
        try {
            assertThat(response.id()).isEqualTo(4242);
            assertThat(response.code()).isEqualTo(DnsResponseCode.NOERROR);
            assertThat(response.isRecursionDesired()).isTrue();
            assertThat(response.isRecursionAvailable()).isTrue();
            DnsQuestion question = response.recordAt(DnsSection.QUESTION);
            assertThat(question.name()).isEqualTo(NAME + ".");
            assertThat(question.type()).isEqualTo(DnsRecordType.AAAA);
            assertThat(response.count(DnsSection.ANSWER)).isZero();
        } finally {
            response.release();
        }
    }

    @Test
    void answersARecordsWithTheQueryIdQuestionAndTtl() throws Exception {
        server.set(NAME, 30, "127.0.0.2");

        DatagramDnsResponse response = exchange(7, NAME + ".", DnsRecordType.A);
        try {
            assertThat(response.id()).isEqualTo(7);
            assertThat(response.code()).isEqualTo(DnsResponseCode.NOERROR);
            assertThat(response.count(DnsSection.QUESTION)).isEqualTo(1);
            assertThat(response.count(DnsSection.ANSWER)).isEqualTo(1);
            DnsRawRecord record = response.recordAt(DnsSection.ANSWER);
            assertThat(record.type()).isEqualTo(DnsRecordType.A);
            assertThat(record.timeToLive()).isEqualTo(30);
            assertThat(ByteBufUtil.getBytes(record.content())).containsExactly(127, 0, 0, 2);
        } finally {
            response.release();
        }
    }

    @Test
    void answersAnUnknownNameWithNxdomain() throws Exception {
        DatagramDnsResponse response = exchange(1, "missing.strait.test.", DnsRecordType.A);
        try {
            assertThat(response.id()).isEqualTo(1);
            assertThat(response.code()).isEqualTo(DnsResponseCode.NXDOMAIN);
            assertThat(response.count(DnsSection.ANSWER)).isZero();
        } finally {
            response.release();
        }
        assertThat(server.queryCount("missing.strait.test")).isEqualTo(1);
    }

    /** Resolver options that keep the host's /etc/hosts and resolv.conf out of the test. */
    private DnsNameResolverBuilder resolver(ResolvedAddressTypes types) {
        return new DnsNameResolverBuilder(clientGroup.next())
                .datagramChannelType(NioDatagramChannel.class)
                .nameServerProvider(new SingletonDnsServerAddressStreamProvider(server.address()))
                .hostsFileEntriesResolver((host, addressTypes) -> null)
                .searchDomains(List.of())
                .resolvedAddressTypes(types)
                .queryTimeoutMillis(10_000);
    }

    private DnsNameResolver uncachedResolver(ResolvedAddressTypes types) {
        DnsNameResolver resolver = resolver(types)
                .resolveCache(NoopDnsCache.INSTANCE)
                .cnameCache(NoopDnsCnameCache.INSTANCE)
                .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
                .build();
        resolvers.add(resolver);
        return resolver;
    }

    private static List<String> resolveAll(DnsNameResolver resolver, String name) throws Exception {
        return resolver.resolveAll(name).get(5, TimeUnit.SECONDS).stream()
                .map(InetAddress::getHostAddress)
                .toList();
    }

    /** One raw query and its decoded response, which the caller releases. */
    private DatagramDnsResponse exchange(int id, String name, DnsRecordType type) throws Exception {
        DatagramDnsQuery query = new DatagramDnsQuery(null, server.address(), id)
                .setRecursionDesired(true)
                .setRecord(DnsSection.QUESTION, new DefaultDnsQuestion(name, type));
        EmbeddedChannel encoder = new EmbeddedChannel(new DatagramDnsQueryEncoder());
        assertThat(encoder.writeOutbound(query)).isTrue();
        DatagramPacket packet = encoder.readOutbound();
        byte[] request = ByteBufUtil.getBytes(packet.content());
        packet.release();
        assertThat(encoder.finish()).isFalse();

        byte[] reply = new byte[4096];
        java.net.DatagramPacket received = new java.net.DatagramPacket(reply, reply.length);
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            socket.setSoTimeout(5000);
            socket.send(new java.net.DatagramPacket(request, request.length, server.address()));
            socket.receive(received);
        }

        EmbeddedChannel decoder = new EmbeddedChannel(new DatagramDnsResponseDecoder());
        assertThat(decoder.writeInbound(new DatagramPacket(
                        Unpooled.wrappedBuffer(reply, 0, received.getLength()),
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        server.address())))
                .isTrue();
        DatagramDnsResponse response = decoder.readInbound();
        assertThat(decoder.finish()).isFalse();
        return response;
    }
}
