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
        double norm = Math.sqrt(be.sumOfSquares(grads));
        if (maxNorm > 0 && norm > maxNorm) {
            be.scale(grads, maxNorm / (norm + 1e-6));
        }
        return norm;
    }
}
