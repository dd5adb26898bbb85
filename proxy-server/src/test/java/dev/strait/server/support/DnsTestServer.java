package dev.strait.server.support;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An authoritative DNS server on 127.0.0.1 (UDP, port 0) whose answers a test changes while it runs.
 *
 * <p>{@link #set} gives a name A records (IPv4 addresses) and AAAA records (IPv6 addresses); {@link #remove} makes it
 * NXDOMAIN. A known name asked for a type it has no records of gets NOERROR with no answers, as real servers do, so a
 * resolver asking for both A and AAAA completes without waiting for a timeout. Names are case-insensitive, with or
 * without the trailing dot.
 *
 * <p>Thread model: queries are answered on the server's single event-loop thread; {@link #set}, {@link #remove} and
 * {@link #queryCount} may be called from any thread. An answer is replaced whole, so a query sees the old or the new
 * one, never a mix. Failures on the server side are recorded and rethrown by {@link #close()}.
 */
public final class DnsTestServer implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> queryCounts = new ConcurrentHashMap<>();
    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();

    /** The records of one name; addresses are never mutated once stored. */
    private record Answer(int ttlSeconds, List<byte[]> ipv4, List<byte[]> ipv6) {}

    private DnsTestServer(EventLoopGroup group) {
        this.group = group;
        this.channel = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        ch.pipeline()
                                .addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder())
                                .addLast(new QueryHandler());
                    }
                })
                .bind(new InetSocketAddress(NetUtil.LOCALHOST4, 0))
                .syncUninterruptibly()
                .channel();
    }

    public static DnsTestServer start() {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            return new DnsTestServer(group);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
            throw e;
        }
    }

    /** Where resolvers should send their queries (UDP). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /**
     * Replaces the answer for {@code name}: IPv4 addresses become A records, IPv6 addresses AAAA records, each with
     * {@code ttlSeconds}. No addresses leaves the name known but without records (NOERROR, no answers).
     */
    public void set(String name, int ttlSeconds, String... ipAddresses) {
        if (ttlSeconds < 0) {
            throw new IllegalArgumentException("ttlSeconds must be >= 0, was " + ttlSeconds);
        }
        List<byte[]> ipv4 = new ArrayList<>();
        List<byte[]> ipv6 = new ArrayList<>();
        for (String ip : ipAddresses) {
            byte[] bytes = NetUtil.createByteArrayFromIpAddressString(requireNonNull(ip, "ipAddress"));
            if (bytes == null) {
                throw new IllegalArgumentException("not an IP address: " + ip);
            }
            (bytes.length == 4 ? ipv4 : ipv6).add(bytes);
        }
        answers.put(normalize(name), new Answer(ttlSeconds, List.copyOf(ipv4), List.copyOf(ipv6)));
    }

    /** Forgets {@code name}: later queries for it get NXDOMAIN. */
    public void remove(String name) {
        answers.remove(normalize(name));
    }

    /** How many questions, of any type, were asked about {@code name} (known or not). */
    public int queryCount(String name) {
        AtomicInteger count = queryCounts.get(normalize(name));
        return count == null ? 0 : count.get();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        List<Throwable> seen = new ArrayList<>(failures);
        if (!seen.isEmpty()) {
            AssertionError error = new AssertionError("DNS test server failed: " + seen.get(0), seen.get(0));
            seen.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    private static String normalize(String name) {
        String lower = requireNonNull(name, "name").toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    private DatagramDnsResponse respond(DatagramDnsQuery query) {
        DatagramDnsResponse response =
                new DatagramDnsResponse(query.recipient(), query.sender(), query.id(), query.opCode());
        response.setAuthoritativeAnswer(true)
                .setRecursionDesired(query.isRecursionDesired())
                .setRecursionAvailable(true);
        if (query.count(DnsSection.QUESTION) != 1) {
            return response.setCode(DnsResponseCode.FORMERR);
        }
        DnsQuestion question = query.recordAt(DnsSection.QUESTION);
        response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(question.name(), question.type()));
        String name = normalize(question.name());
        queryCounts.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();

        Answer answer = answers.get(name);
        if (answer == null) {
            return response.setCode(DnsResponseCode.NXDOMAIN);
        }
        List<byte[]> addresses = question.type().equals(DnsRecordType.A)
                ? answer.ipv4()
                : question.type().equals(DnsRecordType.AAAA) ? answer.ipv6() : List.of();
        for (byte[] address : addresses) {
            response.addRecord(
                    DnsSection.ANSWER,
                    new DefaultDnsRawRecord(
                            question.name(), question.type(), answer.ttlSeconds(), Unpooled.wrappedBuffer(address)));
        }
        return response.setCode(DnsResponseCode.NOERROR);
    }

    /** Answers each decoded query; the base class releases the query, the encoder releases the response. */
    private final class QueryHandler extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            ctx.writeAndFlush(respond(query));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failures.add(cause);
        }
    }
}
