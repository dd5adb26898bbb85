package dev.strait.server.connection;

import static java.util.Objects.requireNonNull;

import dev.strait.balance.Backend;
import dev.strait.server.lifecycle.CloseCause;
import dev.strait.server.lifecycle.ConnectionState;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelGroupFuture;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Every live connection that was admitted or is waiting for a slot. A connection leaves it in its close path.
 *
 * <p>Thread-safe: channels are added from their event loops; the admin endpoint and shutdown read from other threads.
 */
public final class ConnectionRegistry {
    private final Set<ProxiedConnection> connections = ConcurrentHashMap.newKeySet();
    private final Consumer<ProxiedConnection> closed;

    public ConnectionRegistry() {
        this(c -> {});
    }

    /** @param closed told of every connection once it has closed, its cause recorded (where an access log plugs in) */
    public ConnectionRegistry(Consumer<ProxiedConnection> closed) {
        this.closed = requireNonNull(closed, "closed");
    }

    /**
     * Registers an admitted or waiting connection; its close path {@link #remove}s it. Only the set: a channel group
     * as well would add a second listener to every client's close future (the owner's is the first), a garbage
     * array per connection; the group is made from the set when a shutdown asks for one.
     */
    void register(ProxiedConnection connection) {
        connections.add(connection);
    }

    /** Called by a connection's close path, whether or not it was registered. */
    void remove(ProxiedConnection connection) {
        connections.remove(connection);
        closed.accept(connection);
    }

    /** How many connections are open. */
    public int size() {
        return connections.size();
    }

    /** A snapshot of the live connections. */
    public List<ProxiedConnection> snapshot() {
        return new ArrayList<>(connections);
    }

    /** Completes when every connection open now has closed. */
    public ChannelGroupFuture allClosed() {
        return frontends().newCloseFuture();
    }

    /**
     * Closes every relaying connection to {@code backend}, which its health check took down; returns how many. One
     * still connecting is left to its connector, which tries another backend.
     */
    public int closeConnectionsTo(Backend backend) {
        int closed = 0;
        for (ProxiedConnection c : connections) {
            if (c.state() instanceof ConnectionState.Relaying && c.backendTarget() == backend) {
                c.close(CloseCause.BACKEND_DOWN);
                closed++;
            }
        }
        return closed;
    }

    /** Closes every connection now, for a shutdown (their backends follow). */
    public ChannelGroupFuture closeAll() {
        connections.forEach(c -> c.close(CloseCause.SHUTDOWN)); // notes the cause before the close below lands
        return frontends().close();
    }

    /** The client channels of the connections open now. */
    private ChannelGroup frontends() {
        ChannelGroup group = new DefaultChannelGroup("frontends", GlobalEventExecutor.INSTANCE);
        for (ProxiedConnection c : connections) {
            group.add(c.frontend());
        }
        return group;
    }
}
