package dev.strait.server.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend on a loopback address that runs a handler per accepted connection on its own thread, and that a test can
 * stop and start again on the same port, as a crashed and restarted server would be.
 *
 * <p>Two kinds, one accept loop. {@link #start(Handler)} and {@link #echo()} are strict: any handler failure, an
 * {@link IOException} included, is collected and rethrown by {@link #close()}, and sockets stay open until then unless
 * the handler closes them. {@link #restartable} backends expect peers that hang up early (health probes end with a
 * reset, {@link #stop()} cuts connections): their handlers' {@link IOException}s are ignored, anything else is
 * rethrown by {@link #close()}, and each socket is closed when its handler returns. The stock restartable handlers
 * start by writing one tag byte, so a client learns which backend the proxy chose.
 */
public final class LoopbackBackend implements AutoCloseable {
    /** What the backend does with one accepted connection. */
    @FunctionalInterface
    public interface Handler {
        void handle(Socket socket) throws Exception;
    }

    private final InetAddress address;
    private final Handler handler;
    private final boolean hangUpsAreNormal;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "backend");
        t.setDaemon(true);
        return t;
    });
    private final Set<Socket> live = ConcurrentHashMap.newKeySet();
    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private volatile boolean closed;
    private volatile int port;
    private volatile ServerSocket server;

    private LoopbackBackend(InetAddress address, int port, Handler handler, boolean hangUpsAreNormal)
            throws IOException {
        this.address = requireNonNull(address, "address");
        this.handler = requireNonNull(handler, "handler");
        this.hangUpsAreNormal = hangUpsAreNormal;
        this.port = port;
        start();
    }

    /** A strict backend on 127.0.0.1 and a port the kernel chooses. */
    public static LoopbackBackend start(Handler handler) throws IOException {
        return new LoopbackBackend(InetAddress.getLoopbackAddress(), 0, handler, false);
    }

    /** A strict backend that writes back everything it reads, and half-closes when the client does. */
    public static LoopbackBackend echo() throws IOException {
        return start(echoHandler());
    }

    /**
     * A restartable backend on {@code address:port} (127.0.0.2 works as well as 127.0.0.1); port 0 lets the kernel
     * choose, and later restarts keep that port.
     */
    public static LoopbackBackend restartable(InetAddress address, int port, Handler handler) throws IOException {
        return new LoopbackBackend(address, port, handler, true);
    }

    /** A restartable backend on 127.0.0.1 and a port the kernel chooses. */
    public static LoopbackBackend restartable(Handler handler) throws IOException {
        return restartable(InetAddress.getLoopbackAddress(), 0, handler);
    }

    /** Echoes everything until the client half-closes, then half-closes too. */
    public static Handler echoHandler() {
        return socket -> {
            try (socket) {
                socket.getInputStream().transferTo(socket.getOutputStream());
                socket.shutdownOutput();
            }
        };
    }

    /** Writes {@code tag} and closes. */
    public static Handler tagAndClose(int tag) {
        return socket -> {
            try (socket) {
                socket.getOutputStream().write(tag);
            }
        };
    }

    /** Writes {@code tag}, then echoes everything until the client half-closes, then half-closes too. */
    public static Handler tagThenEcho(int tag) {
        return socket -> {
            try (socket) {
                OutputStream out = socket.getOutputStream();
                out.write(tag);
                out.flush();
                InputStream in = socket.getInputStream();
                in.transferTo(out);
                socket.shutdownOutput();
            }
        };
    }

    /** Reads the tag byte a stock handler writes first; fails if the connection ends before it. */
    public static int readTag(Socket client) throws IOException {
        int tag = client.getInputStream().read();
        if (tag < 0) {
            throw new IOException("connection ended before the backend's tag byte");
        }
        return tag;
    }

    /** Binds again (on the same port once one was chosen) and accepts; a no-op while running. */
    public synchronized void start() throws IOException {
        if (server != null) {
            return;
        }
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true); // rebinding over our own TIME_WAIT sockets after a restart
        s.bind(new InetSocketAddress(address, port), 2048);
        port = s.getLocalPort();
        server = s;
        threads.execute(() -> acceptLoop(s));
    }

    /** Stops accepting (new connects are refused) but leaves established connections open. */
    public synchronized void stopAccepting() throws IOException {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            s.close();
        }
    }

    /** Stops accepting and closes every established connection, like a crashed server. */
    public synchronized void stop() throws IOException {
        stopAccepting();
        for (Socket socket : live) {
            socket.close();
        }
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            Socket socket;
            try {
                socket = s.accept();
            } catch (IOException e) {
                return; // stopped
            }
            accepted.incrementAndGet();
            live.add(socket);
            threads.execute(() -> handle(socket));
        }
    }

    private void handle(Socket socket) {
        try {
            handler.handle(socket);
        } catch (IOException e) {
            if (!hangUpsAreNormal && !closed) {
                failures.add(e);
            }
        } catch (Throwable t) {
            if (hangUpsAreNormal || !closed) {
                failures.add(t);
            }
        } finally {
            if (hangUpsAreNormal) {
                live.remove(socket);
                closeQuietly(socket);
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    public InetAddress inetAddress() {
        return address;
    }

    public int port() {
        return port;
    }

    /** {@code host:port}, as a route's backend. */
    public String address() {
        return address.getHostAddress() + ":" + port;
    }

    /** Connections accepted since the start. */
    public int acceptedCount() {
        return accepted.get();
    }

    /** Connections accepted and not yet finished by their handler (restartable backends; strict ones keep all). */
    public int liveConnections() {
        return live.size();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        stop();
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
