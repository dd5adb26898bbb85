package dev.strait.relay;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.nio.channels.NotYetConnectedException;

/** Small channel helpers shared by the relay and the server. */
public final class Channels {
    private Channels() {}

    /** Closes the channel once everything already written to it has been flushed; a no-op if it is closed. */
    public static void closeOnFlush(Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else if (channel.isOpen()) {
            channel.close();
        }
    }

    /**
     * Closes a channel whose socket failed (a reset, a broken pipe) from its pipeline's first handler, so that no
     * handler's close runs: nothing more can be written to the socket, and an SslHandler's close would only encrypt a
     * close_notify (and any session tickets still queued) to meet the reset.
     */
    public static void closeFailed(Channel channel) {
        channel.pipeline().firstContext().close();
    }

    /**
     * Sends a FIN: shuts the channel's output down. Call it on the channel's event loop once everything written to it
     * has been flushed. On epoll, with the outbound queue empty, the socket is shut down directly: Netty's own
     * {@code shutdownOutput} builds a {@code ChannelOutputShutdownException} with a stack trace every time, to fail a
     * queue that is empty here (a third of the garbage of a short proxied connection). The channel then reports its
     * output shut down as usual; only the {@code ChannelOutputShutdownEvent}, which nothing in the relay listens for,
     * is not fired. Other transports, or a queue that is not empty, take Netty's way.
     */
    public static ChannelFuture shutdownOutput(DuplexChannel channel) {
        if (channel instanceof AbstractEpollStreamChannel epoll
                && channel.eventLoop().inEventLoop()) {
            ChannelOutboundBuffer queue = epoll.unsafe().outboundBuffer();
            if (queue != null && queue.isEmpty() && epoll.fd() instanceof Socket socket) {
                try {
                    socket.shutdown(false, true);
                    return channel.newSucceededFuture();
                } catch (IOException | NotYetConnectedException e) {
                    return channel.newFailedFuture(e);
                }
            }
        }
        return channel.shutdownOutput();
    }

    /** Whether the channel's input has ended (a FIN read); false for channels that cannot half-close. */
    public static boolean isInputShutdown(Channel channel) {
        return channel instanceof DuplexChannel duplex && duplex.isInputShutdown();
    }

    /** Whether the channel's output has been shut down (a FIN sent), or it is not a half-closable channel and closed. */
    public static boolean isOutputShutdown(Channel channel) {
        if (channel instanceof DuplexChannel duplex) {
            return duplex.isOutputShutdown();
        }
        return !channel.isActive();
    }
}
