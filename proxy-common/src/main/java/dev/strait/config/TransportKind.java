package dev.strait.config;

import java.util.Locale;

/** Which Netty transport to run on; {@link #AUTO} picks epoll on Linux when available, else NIO. */
public enum TransportKind {
    AUTO,
    EPOLL,
    IO_URING,
    NIO;

    /** The config spelling: {@code auto}, {@code epoll}, {@code io_uring} or {@code nio}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TransportKind parse(String key, String text) {
        for (TransportKind kind : values()) {
            if (kind.configName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw ConfigException.badValue(key, text, "expected auto, epoll, io_uring or nio");
    }
}
