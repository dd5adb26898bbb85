package dev.strait.server.connection;

import dev.strait.balance.Backend;
import dev.strait.relay.RelayHandler;
import dev.strait.server.route.RouteRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;

/**
 * Opens the backend side of one client's connection, with the backend's relay already in its pipeline. The route's
 * bootstrap does it in the server; a unit test injects one that hands back channels it controls.
 */
@FunctionalInterface
interface BackendDialer {
    /** Clones the route's bootstrap onto the client's event loop: both sides then share one thread, so no volatile. */
    BackendDialer BOOTSTRAP = (route, frontend, target, fromBackend) -> route.backendBootstrap()
            .clone(frontend.eventLoop())
            .handler(fromBackend)
            .connect(target.address());

    /** Starts connecting {@code frontend}'s backend side to {@code target}. */
    ChannelFuture dial(RouteRuntime route, Channel frontend, Backend target, RelayHandler fromBackend);
}
