package dev.strait.relay;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;

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
