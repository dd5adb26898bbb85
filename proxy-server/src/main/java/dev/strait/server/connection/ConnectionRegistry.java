package dev.strait.server.connection;

import dev.strait.balance.Backend;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelGroupFuture;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every live frontend channel and what is known of its connection. A channel leaves the registry when it closes.
 *
 * <p>Thread-safe: channels are added from their event loops; the admin endpoint and shutdown read from other threads.
 */
public final class ConnectionRegistry {
    private final ChannelGroup frontends = new DefaultChannelGroup("frontends", GlobalEventExecutor.INSTANCE);
    private final Map<Channel, ProxiedConnection> connections = new ConcurrentHashMap<>();

    /** Registers a newly accepted frontend channel; it is forgotten when it closes. */
    ProxiedConnection register(String route, Channel frontend) {
        ProxiedConnection connection = new ProxiedConnection(route, frontend);
        connections.put(frontend, connection);
        frontend.closeFuture().addListener(f -> connections.remove(frontend));
        frontends.add(frontend);
        return connection;
    }

    /** How many connections are open. */
    public int size() {
        return frontends.size();
    }

    /** A snapshot of the live connections. */
    public List<ProxiedConnection> snapshot() {
        return new ArrayList<>(connections.values());
    }

    /** Completes when every connection open now has closed. */
    public ChannelGroupFuture allClosed() {
        return frontends.newCloseFuture();
    }

    /** Closes every connection relaying to {@code backend}; returns how many. */
    public int closeConnectionsTo(Backend backend) {
        int closed = 0;
        for (ProxiedConnection c : connections.values()) {
            if (c.backendTarget() == backend) {
                c.close();
                closed++;
            }
        }
        return closed;
    }

    /** Closes every connection now (their backends follow). */
    public ChannelGroupFuture closeAll() {
        return frontends.close();
    }
}
