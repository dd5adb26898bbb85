package dev.strait.server.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes connects to a loopback listener hang: with its accept queue full (backlog 1, nobody accepting) the kernel
 * drops new SYNs, so a connect stays in flight until the client's own timeout — the only reliable way to test a
 * connect timeout without leaving loopback.
 */
public final class AcceptQueue {
    private AcceptQueue() {}

    /** Connects to the listener until its accept queue is full (a connect times out); returns the sockets to close. */
    public static List<Socket> fill(ServerSocket listener) throws IOException {
        List<Socket> fillers = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Socket socket = new Socket();
            try {
                socket.connect(listener.getLocalSocketAddress(), 300);
                fillers.add(socket);
            } catch (SocketTimeoutException full) {
                socket.close();
                return fillers;
            }
        }
        for (Socket filler : fillers) {
            filler.close();
        }
        throw new AssertionError("the accept queue of a listener with backlog 1 took 16 connections");
    }
}
