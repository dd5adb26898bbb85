package dev.strait.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reports a leaked buffer while it ran.
 *
 * <p>Registered for every test class through JUnit's extension auto-detection (see
 * {@code junit-platform.properties}). Its static initialiser installs a leak detector factory that records reports
 * before any buffer class is loaded; after each class it collects garbage, gives the detector a chance to report, and
 * asserts nothing was reported. Leak detection runs at {@code paranoid} (set in the surefire/failsafe argLine).
 */
public final class LeakCheckExtension implements AfterAllCallback {
    private static final Queue<String> LEAKS = new ConcurrentLinkedQueue<>();

    static {
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        List<String> found = collectLeaks();
        assertThat(found)
                .as("Netty buffer leaks reported during %s", context.getDisplayName())
                .isEmpty();
    }

    /** Forces the detector to look at collected buffers and returns (and clears) what it reported. */
    static List<String> collectLeaks() {
        for (int round = 0; round < 3; round++) {
            System.gc();
            System.runFinalization();
            // The detector reports when a new tracked object is created after the leaked one was collected.
            for (ByteBufAllocator allocator :
                    List.<ByteBufAllocator>of(PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT)) {
                for (int i = 0; i < 64; i++) {
                    ByteBuf probe = allocator.directBuffer(16);
                    probe.release();
                    ByteBuf heap = allocator.heapBuffer(16);
                    heap.release();
                }
            }
        }
        List<String> found = new ArrayList<>();
        for (String leak; (leak = LEAKS.poll()) != null; ) {
            found.add(leak);
        }
        return found;
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(
                Class<T> resource, int samplingInterval, long maxActive) {
            return new ResourceLeakDetector<T>(resource, samplingInterval) {
                @Override
                protected void reportTracedLeak(String resourceType, String records) {
                    LEAKS.add("LEAK: " + resourceType + records);
                    super.reportTracedLeak(resourceType, records);
                }

                @Override
                protected void reportUntracedLeak(String resourceType) {
                    LEAKS.add("LEAK: " + resourceType + " (untraced)");
                    super.reportUntracedLeak(resourceType);
                }
            };
        }
    }
}
