package dev.strait.config;

import java.util.Locale;

/**
 * When a relayed direction switches from copying through user space to splice(2) between the two sockets (epoll
 * only; other transports always copy).
 */
public enum SpliceMode {
    /** Splice a direction once one read brings {@value #AUTO_THRESHOLD} bytes or more: bulk transfers, not chatter. */
    AUTO,
    /** Splice a direction from its second read on (the first is copied). */
    ALWAYS,
    /** Always copy. */
    OFF;

    /** Bytes one read must bring for {@link #AUTO} to switch to splice. */
    public static final int AUTO_THRESHOLD = 16 * 1024;

    /** The read size that switches a direction to splice; 0 never does. */
    public int spliceAfter() {
        return switch (this) {
            case AUTO -> AUTO_THRESHOLD;
            case ALWAYS -> 1;
            case OFF -> 0;
        };
    }

    /** The config spelling: {@code auto}, {@code always} or {@code off}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the config spelling; YAML 1.1 reads an unquoted {@code off} as false and {@code on} as true. */
    public static SpliceMode parse(String key, String text) {
        String name = text.trim().toLowerCase(Locale.ROOT);
        if (name.equals("false")) {
            return OFF;
        }
        if (name.equals("true")) {
            return AUTO;
        }
        for (SpliceMode mode : values()) {
            if (mode.configName().equals(name)) {
                return mode;
            }
        }
        throw ConfigException.badValue(key, text, "expected auto, always or off");
    }
}
