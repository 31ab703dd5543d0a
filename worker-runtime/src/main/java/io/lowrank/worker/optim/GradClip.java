package io.lowrank.worker.optim;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/** Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics). */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales grads so that their global L2 norm is at most maxNorm (no-op when maxNorm <= 0).
     * Returns the norm before clipping.
     */
    public static double clip(Backend be, Tensor grads, double maxNorm) {
        double norm = norm(be, grads);
        clipTo(be, grads, norm, maxNorm);
        return norm;
    }

    /**
     * The global L2 norm, summed in double: finite exactly when every element is finite (a float32
     * square cannot overflow a double), whatever the summation order.
     */
    public static double norm(Backend be, Tensor grads) {
        return Math.sqrt(be.sumOfSquares(grads));
    }

    /** Scales grads whose global norm is {@code norm} down to maxNorm (no-op when maxNorm <= 0 or norm <= maxNorm). */
    public static void clipTo(Backend be, Tensor grads, double norm, double maxNorm) {
        if (maxNorm > 0 && norm > maxNorm) {
            be.scale(grads, maxNorm / (norm + 1e-6));
        }
    }
}
