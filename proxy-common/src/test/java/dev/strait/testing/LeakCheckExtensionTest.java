package dev.strait.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Proves the leak check can fail: test classes that leave a buffer unreleased are run in-process by JUnit's launcher,
 * and the class must fail with the buffer's allocation stack, while the garbage collector is never needed (the buffer
 * stays strongly referenced, so the paranoid detector alone would never report it). A class that releases what it
 * allocates passes.
 */
class LeakCheckExtensionTest {
    /** Buffers the planted classes keep; released after each test so this class itself leaves nothing. */
    static final List<ByteBuf> KEPT = new ArrayList<>();

    @BeforeEach
    void settleQuickly() {
        System.setProperty(BufferScope.SETTLE_PROPERTY, "300");
    }

    @AfterEach
    void releaseThePlantedBuffers() {
        System.clearProperty(BufferScope.SETTLE_PROPERTY);
        KEPT.forEach(ByteBuf::release);
        KEPT.clear();
    }

    @Test
    void aPooledDirectBufferLeftUnreleasedFailsItsClass() {
        TestExecutionSummary summary = run(LeaksAPooledBuffer.class);

        assertThat(summary.getTotalFailureCount()).isEqualTo(1);
        String failure = summary.getFailures().get(0).getException().getMessage();
        assertThat(failure)
                .contains("1 buffer(s) of LeakCheckExtensionTest$LeaksAPooledBuffer never released")
                .contains("LeaksAPooledBuffer.keepsOne");
    }

    @Test
    void anUnpooledDirectBufferLeftUnreleasedFailsItsClass() {
        TestExecutionSummary summary = run(LeaksAnUnpooledBuffer.class);

        assertThat(summary.getTotalFailureCount()).isEqualTo(1);
        assertThat(summary.getFailures().get(0).getException().getMessage())
                .contains("never released")
                .contains("LeaksAnUnpooledBuffer.keepsOne");
    }

    @Test
    void aClassThatReleasesEverythingPasses() {
        TestExecutionSummary summary = run(ReleasesItsBuffers.class);

        assertThat(summary.getTestsSucceededCount()).isEqualTo(1);
        assertThat(summary.getTotalFailureCount()).isZero();
    }

    private static TestExecutionSummary run(Class<?> testClass) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(testClass))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        return listener.getSummary();
    }

    static class LeaksAPooledBuffer {
        @Test
        void keepsOne() {
            KEPT.add(PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(1));
        }
    }

    static class LeaksAnUnpooledBuffer {
        @Test
        void keepsOne() {
            KEPT.add(UnpooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(1));
        }
    }

    static class ReleasesItsBuffers {
        @Test
        void releasesOne() {
            ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
            buf.writeLong(1);
            buf.release();
        }
    }
}
