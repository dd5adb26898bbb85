package dev.strait.server.e2e;

import dev.strait.server.support.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A throwaway Redis server on 127.0.0.1, without persistence, logging to stdout. */
final class RedisServer implements AutoCloseable {
    private final int port;
    private final Daemon server;

    private RedisServer(int port, Daemon server) {
        this.port = port;
        this.server = server;
    }

    static RedisServer start(Path dir, Path log) throws IOException {
        int port = Ports.freePort();
        Path config = dir.resolve("redis.conf");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "port " + port,
                        "bind 127.0.0.1",
                        "dir " + dir,
                        "save \"\"",
                        "appendonly no",
                        "daemonize no",
                        "logfile \"\"",
                        ""));
        Daemon server = Daemon.start(
                "redis-server",
                List.of(Binaries.require("redis-server", "redis-server").toString(), config.toString()),
                dir,
                log,
                text -> text.contains("Ready to accept connections"),
                Duration.ofSeconds(30));
        return new RedisServer(port, server);
    }

    int port() {
        return port;
    }

    @Override
    public void close() {
        server.close();
    }
}
