package dev.strait.server.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend on 127.0.0.1, port 0, that runs a handler per accepted connection on its own thread. Handler failures
 * are collected and rethrown by {@link #close()}, so a test sees what went wrong on the server side.
 */
public final class LoopbackBackend implements AutoCloseable {
    /** What the backend does with one accepted connection. */
    @FunctionalInterface
    public interface Handler {
        void handle(Socket socket) throws Exception;
    }

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "backend");
        t.setDaemon(true);
        return t;
    });
    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    private final Queue<Socket> sockets = new ConcurrentLinkedQueue<>();
    private final AtomicInteger accepted = new AtomicInteger();

    private LoopbackBackend(Handler handler) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 2048);
        threads.execute(() -> acceptLoop(handler));
    }

    public static LoopbackBackend start(Handler handler) throws IOException {
        return new LoopbackBackend(handler);
    }

    /** A backend that writes back everything it reads, and half-closes when the client does. */
    public static LoopbackBackend echo() throws IOException {
        return start(socket -> {
            try (socket) {
                socket.getInputStream().transferTo(socket.getOutputStream());
                socket.shutdownOutput();
            }
        });
    }

    private void acceptLoop(Handler handler) {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            sockets.add(socket);
            threads.execute(() -> {
                try {
                    handler.handle(socket);
                } catch (Throwable t) {
                    if (!server.isClosed()) {
                        failures.add(t);
                    }
                }
            });
        }
    }

    public int port() {
        return server.getLocalPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    public int acceptedCount() {
        return accepted.get();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Throwable> seen = new ArrayList<>(failures);
        if (!seen.isEmpty()) {
            AssertionError error = new AssertionError("backend handler failed: " + seen.get(0), seen.get(0));
            seen.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }
}
