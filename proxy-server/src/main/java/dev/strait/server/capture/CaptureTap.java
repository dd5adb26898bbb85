package dev.strait.server.capture;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * First in one side's pipeline while its connection is captured: copies what the socket read and what is written to
 * it (both before the relay or the socket take them) to its {@link ConnectionCapture}, and passes everything on
 * untouched.
 */
final class CaptureTap extends ChannelDuplexHandler {
    static final String NAME = "capture";

    private final ConnectionCapture owner;
    private final TcpFlow flow;
    private final boolean readsFromInitiator;
    private long readBytes;
    private long writtenBytes;

    /** @param readsFromInitiator whether this side's reads come from the flow's initiator (the client's side) */
    CaptureTap(ConnectionCapture owner, TcpFlow flow, boolean readsFromInitiator) {
        this.owner = owner;
        this.flow = flow;
        this.readsFromInitiator = readsFromInitiator;
    }

    TcpFlow flow() {
        return flow;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            recordRead(buf);
        }
        ctx.fireChannelRead(msg);
    }

    /** Copies what this side read (through the pipeline, or before the tap was there). */
    void recordRead(ByteBuf buf) {
        if (buf.isReadable()) {
            readBytes += owner.copy(flow, readsFromInitiator, buf, readBytes);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            writtenBytes += owner.copy(flow, !readsFromInitiator, buf, writtenBytes);
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        owner.closed(flow);
        ctx.fireChannelInactive();
    }
}
