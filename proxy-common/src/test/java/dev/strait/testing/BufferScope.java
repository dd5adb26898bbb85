package dev.strait.testing;

import io.netty.util.ResourceLeakTracker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The buffers allocated while one test class ran and not yet released: a deterministic count, checked when the class
 * ends ({@link LeakCheckExtension}). Each entry keeps its allocation stack, captured when the buffer was made (the
 * paranoid detector captures one per allocation too), so a leftover can be told from a static constant and named.
 */
final class BufferScope {
    /**
     * How long (ms) the scope waits for buffers still in flight when its class ends (event loops stop asynchronously);
     * 10 s unless this property says otherwise.
     */
    static final String SETTLE_PROPERTY = "strait.leakCheck.settleMillis";

    private static final int SHOWN = 3;

    private final String name;
    private final Set<Counted<?>> open = ConcurrentHashMap.newKeySet();

    BufferScope(String name) {
        this.name = name;
    }

    /** Counts one new buffer; {@code records} is the paranoid detector's tracker for it (null when it has none). */
    <T> ResourceLeakTracker<T> track(ResourceLeakTracker<T> records) {
        Counted<T> counted = new Counted<>(this, records);
        open.add(counted);
        return counted;
    }

    /**
     * Waits up to {@link #SETTLE_PROPERTY} for every buffer counted here to be released and returns a description of those that
     * were not (empty when all were). Buffers allocated by a static initialiser are constants, never released, and not
     * reported.
     */
    List<String> awaitReleased() {
        try {
            Awaitility.await("buffers of " + name + " released")
                    .pollInterval(Duration.ofMillis(20))
                    .atMost(Duration.ofMillis(Long.getLong(SETTLE_PROPERTY, 10_000)))
                    .until(() -> leftovers().isEmpty());
            return List.of();
        } catch (ConditionTimeoutException timeout) {
            List<Counted<?>> left = leftovers();
            List<String> described = new ArrayList<>();
            described.add(left.size() + " buffer(s) of " + name + " never released; the first allocation stacks:");
            for (Counted<?> each : left.subList(0, Math.min(SHOWN, left.size()))) {
                described.add(each.describe());
            }
            return described;
        }
    }

    private List<Counted<?>> leftovers() {
        List<Counted<?>> left = new ArrayList<>();
        for (Counted<?> each : open) {
            if (each.fromStaticInitializer()) {
                open.remove(each);
            } else {
                left.add(each);
            }
        }
        return left;
    }

    /** One counted buffer: removed from its scope when released, the paranoid tracker told as well. */
    private static final class Counted<T> implements ResourceLeakTracker<T> {
        private final BufferScope scope;
        private final ResourceLeakTracker<T> records;
        private final Throwable allocated = new Throwable("allocated here");
        private final AtomicBoolean released = new AtomicBoolean();

        Counted(BufferScope scope, ResourceLeakTracker<T> records) {
            this.scope = scope;
            this.records = records;
        }

        @Override
        public void record() {
            if (records != null) {
                records.record();
            }
        }

        @Override
        public void record(Object hint) {
            if (records != null) {
                records.record(hint);
            }
        }

        @Override
        public boolean close(T trackedObject) {
            if (!released.compareAndSet(false, true)) {
                return false;
            }
            scope.open.remove(this);
            return records == null || records.close(trackedObject);
        }

        boolean fromStaticInitializer() {
            for (StackTraceElement frame : allocated.getStackTrace()) {
                if (frame.getMethodName().equals("<clinit>")) {
                    return true;
                }
            }
            return false;
        }

        String describe() {
            StringBuilder text = new StringBuilder();
            StackTraceElement[] frames = allocated.getStackTrace();
            for (int i = 0; i < Math.min(frames.length, 25); i++) {
                text.append("\n\tat ").append(frames[i]);
            }
            return text.toString();
        }
    }
}
