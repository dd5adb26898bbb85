package dev.strait.server;

import dev.strait.server.config.ConfigFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Calls back when a config file's content changes, checked every two seconds. Polling the content rather than
 * watching the directory also catches Kubernetes ConfigMap updates, which swap a symlink.
 */
final class ConfigWatcher {
    private static final Logger log = LogManager.getLogger(ConfigWatcher.class);
    private static final long PERIOD_MILLIS = 2000;

    private final Path file;
    private final Runnable onChange;
    private byte[] last;

    private ConfigWatcher(Path file, Runnable onChange) {
        this.file = file;
        this.onChange = onChange;
        this.last = read();
    }

    static void start(Path file, Runnable onChange) {
        ConfigWatcher watcher = new ConfigWatcher(file, onChange);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strait-config-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(watcher::check, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void check() {
        byte[] now = read();
        if (now != null && !Arrays.equals(now, last)) {
            last = now;
            try {
                onChange.run();
            } catch (RuntimeException e) {
                // A scheduled task that throws is never run again: keep watching whatever went wrong.
                log.error("reload after a config change failed: {}", e.toString());
            }
        }
    }

    private byte[] read() {
        try {
            return ConfigFile.head(file); // not the whole of a file too large to load
        } catch (IOException e) {
            return last; // a file being replaced may be missing for a moment
        }
    }
}
