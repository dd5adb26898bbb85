package dev.strait.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class that leaves a Netty buffer unreleased, two ways.
 *
 * <p>Registered for every test class through JUnit's extension auto-detection (see
 * {@code junit-platform.properties}). Its static initialiser installs a leak detector factory before any buffer class
 * is loaded. The detectors it makes do two things for every tracked buffer:
 *
 * <ul>
 *   <li><b>Presence</b> (deterministic, like Netty 4.2's {@code LeakPresenceDetector}): each buffer allocated while a
 *       test class runs is counted in that class's {@link BufferScope} until it is released. After the class (its
 *       {@code @AfterAll} methods included) the extension waits a bounded time for the count to reach zero (servers
 *       stop asynchronously) and fails the class otherwise, with the allocation stacks of what is left. This does not
 *       depend on the garbage collector running. Buffers made by a static initialiser ({@code <clinit>} in their
 *       allocation stack) are constants that live as long as the JVM and are not counted.
 *   <li><b>Paranoid records</b>: the ordinary detector runs underneath (level {@code paranoid}, set in the
 *       surefire/failsafe argLine); after the class the extension collects garbage and fails on any report, which
 *       says where a leaked buffer was last touched.
 * </ul>
 *
 * <p>Test classes run one after another in one JVM (no parallel execution), so the current scope is a stack: a test
 * that launches another test class in-process ({@code LeakCheckExtensionTest}) nests a scope inside its own.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {
    private static final Queue<String> LEAKS = new ConcurrentLinkedQueue<>();
    private static final Deque<BufferScope> SCOPES = new ConcurrentLinkedDeque<>();

    static {
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        SCOPES.push(new BufferScope(context.getDisplayName()));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        BufferScope scope = SCOPES.pop();
        List<String> left = scope.awaitReleased();
        List<String> found = collectLeaks();
        assertThat(left)
                .as(
                        "Netty buffers allocated during %s and still unreleased after it (allocation stacks)",
                        context.getDisplayName())
                .isEmpty();
        assertThat(found)
                .as("Netty buffer leaks reported during %s", context.getDisplayName())
                .isEmpty();
    }

    /** The scope new buffers are counted in now, or null between test classes. */
    static BufferScope currentScope() {
        return SCOPES.peek();
    }

    /** Forces the paranoid detector to look at collected buffers and returns (and clears) what it reported. */
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
            // Only buffers are counted: other tracked resources (OpenSSL contexts and key material) are freed by
            // their cleaner when collected, which the paranoid check below still watches.
            boolean buffers = ByteBuf.class.isAssignableFrom(resource);
            return new ResourceLeakDetector<T>(resource, samplingInterval) {
                @Override
                public ResourceLeakTracker<T> track(T obj) {
                    return counted(super.track(obj));
                }

                @Override
                public ResourceLeakTracker<T> trackForcibly(T obj) {
                    return counted(super.trackForcibly(obj));
                }

                private ResourceLeakTracker<T> counted(ResourceLeakTracker<T> records) {
                    BufferScope scope = currentScope();
                    return scope == null || !buffers ? records : scope.track(records);
                }

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
