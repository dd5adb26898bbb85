package dev.strait.server.support;

import java.nio.ByteBuffer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;

/** Drives a client {@link SSLEngine}'s handshake against a server reached by hand (an EmbeddedChannel), no socket. */
public final class EngineHandshake {
    private EngineHandshake() {}

    /**
     * Runs {@code client}'s handshake (already in client mode with its parameters set): each flight it wraps goes to
     * {@code send}, and what the server wrote is read from {@code answered} (empty: nothing). Returns the engine once
     * it has finished, or once the server has nothing more to say (it waits for more, or has closed).
     */
    public static SSLEngine run(SSLEngine client, Consumer<byte[]> send, Supplier<byte[]> answered) throws Exception {
        client.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(client.getSession().getPacketBufferSize());
        ByteBuffer in = ByteBuffer.allocate(0);
        ByteBuffer app = ByteBuffer.allocate(client.getSession().getApplicationBufferSize());
        for (int step = 0; step < 100; step++) {
            switch (client.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    out.clear();
                    client.wrap(ByteBuffer.allocate(0), out);
                    out.flip();
                    byte[] flight = new byte[out.remaining()];
                    out.get(flight);
                    send.accept(flight);
                }
                case NEED_TASK -> client.getDelegatedTask().run();
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (!in.hasRemaining()) {
                        byte[] more = answered.get();
                        if (more.length == 0) {
                            return client;
                        }
                        in = ByteBuffer.wrap(more);
                    }
                    app.clear();
                    client.unwrap(in, app);
                }
                default -> {
                    return client; // finished
                }
            }
        }
        throw new AssertionError("the handshake did not end");
    }
}
