package io.lowrank.worker.train;

import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;

import java.nio.FloatBuffer;

/**
 * Decides whether an optimizer step may be applied: a non-finite global gradient norm (taken on
 * the all-reduced gradient, so every worker sees the same bits and decides alike) skips the step;
 * {@code maxConsecutive} skips in a row stop the run with a report (step, learning rate, the first
 * tensors whose gradients hold non-finite values). Counts survive a resume through the trainer
 * state ({@link #skippedSteps()}, {@link #consecutiveSkips()}).
 */
final class SkipGuard {
    private static final int REPORTED_TENSORS = 3;

    private final int maxConsecutive;
    private long skippedSteps;
    private int consecutiveSkips;

    SkipGuard(int maxConsecutive) {
        this.maxConsecutive = maxConsecutive;
    }

    /**
     * @return true when the step's update is to be applied; false when it is skipped
     * @throws NonFiniteStepsException on the {@code maxConsecutive}-th skip in a row
     */
    boolean admit(boolean finite, long step, double loss, double gradNorm, double lr, ParameterStore params, Backend be) {
        if (finite) {
            consecutiveSkips = 0;
            return true;
        }
        skippedSteps++;
        consecutiveSkips++;
        if (consecutiveSkips >= maxConsecutive) {
            String tensors = firstNonFinite(params, be);
            throw new NonFiniteStepsException(String.format(
                    "stopped at step %d: %d optimizer steps in a row had a non-finite gradient norm or loss "
                            + "(train.max_skipped_steps=%d; %d skipped in all); last step: loss %s, grad_norm %s, lr %.6g; "
                            + "first tensors with non-finite gradients: %s. Lower train.lr, set train.grad_clip, or check the data",
                    step + 1, consecutiveSkips, maxConsecutive, skippedSteps, loss, gradNorm, lr, tensors),
                    step + 1, lr, tensors);
        }
        return false;
    }

    long skippedSteps() { return skippedSteps; }
    int consecutiveSkips() { return consecutiveSkips; }

    void restore(long skipped, int consecutive) {
        this.skippedSteps = skipped;
        this.consecutiveSkips = consecutive;
    }

    /** "name (k of n non-finite), ..." for the first tensors in layout order whose gradients hold NaN or Inf. */
    static String firstNonFinite(ParameterStore params, Backend be) {
        StringBuilder sb = new StringBuilder();
        int found = 0;
        for (ParameterStore.Param p : params.params()) {
            long bad = countNonFinite(p, be);
            if (bad == 0) continue;
            if (found > 0) sb.append(", ");
            sb.append(p.name).append(" (").append(bad).append(" of ").append(p.grad.size).append(" non-finite)");
            if (++found == REPORTED_TENSORS) break;
        }
        return found == 0 ? "none (the loss was non-finite)" : sb.toString();
    }

    private static long countNonFinite(ParameterStore.Param p, Backend be) {
        long bad = 0;
        if (!p.grad.storage().onHost()) {   // GPU memory: a host copy (this runs once, when the run stops)
            for (float v : be.toHostFloats(p.grad)) if (!Float.isFinite(v)) bad++;
        } else if (p.grad.dtype == DType.F32) {
            FloatBuffer fb = p.grad.storage().floatBuffer();
            int off = p.grad.offset();
            for (int i = 0; i < p.grad.size; i++) if (!Float.isFinite(fb.get(off + i))) bad++;
        } else {
            for (double v : p.grad.toDoubleArray()) if (!Double.isFinite(v)) bad++;
        }
        return bad;
    }
}
