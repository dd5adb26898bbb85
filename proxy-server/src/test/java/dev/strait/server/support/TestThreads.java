package dev.strait.server.support;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Client threads for one test class, stopped after all its tests:
 * {@code @RegisterExtension static final TestThreads pool = new TestThreads();} then {@code pool.submit(...)}.
 *
 * <p>The threads are daemons named after the test class, so a test that deadlocks fails by its own timeout instead of
 * keeping the test JVM alive, and a thread dump shows whose threads are stuck.
 */
public final class TestThreads implements BeforeAllCallback, AfterAllCallback {
    private static final Duration STOP = Duration.ofSeconds(10);

    private final AtomicInteger count = new AtomicInteger();
    private volatile String owner = "test";
    private final ExecutorService pool = Executors.newCachedThreadPool(daemons());
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(daemons());

    public <T> Future<T> submit(Callable<T> task) {
        return pool.submit(task);
    }

    public Future<?> submit(Runnable task) {
        return pool.submit(task);
    }

    /** As {@link ScheduledExecutorService#scheduleAtFixedRate}, on one scheduler thread. */
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable task, long initialDelay, long period, TimeUnit unit) {
        return ticker.scheduleAtFixedRate(task, initialDelay, period, unit);
    }

    /** The executor itself, for APIs that take one. */
    public ExecutorService executor() {
        return pool;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        owner = context.getRequiredTestClass().getSimpleName();
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        pool.shutdownNow();
        ticker.shutdownNow();
        pool.awaitTermination(STOP.toMillis(), TimeUnit.MILLISECONDS);
        ticker.awaitTermination(STOP.toMillis(), TimeUnit.MILLISECONDS);
    }

    private ThreadFactory daemons() {
        return r -> {
            Thread t = new Thread(r, owner + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
