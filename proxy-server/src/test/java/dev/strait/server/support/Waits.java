package dev.strait.server.support;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting in tests that build a scenario (not assertions on time). */
public final class Waits {
    private Waits() {}

    /**
     * Waits for the signal, but no longer than the bound, then goes on either way: for scenarios that need one side to
     * hold off (say, read late) until the other has done its part or is blocked on full buffers.
     */
    public static void untilDoneOrBlocked(CompletableFuture<?> signal, Duration bound)
            throws InterruptedException, ExecutionException {
        try {
            signal.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException blocked) {
            // the other side is blocked on full buffers: go on
        }
    }
}
