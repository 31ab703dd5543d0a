package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Tensor;

/**
 * One of the 7 linears of a block (q, k, v, o, gate, up, down) for a fixed number of rows. A
 * projection keeps whatever it saved in forward for its backward; parameter gradients accumulate.
 */
public interface Projection {
    /** y[rows, out] = P(x[rows, in]). */
    void forward(Tensor x, Tensor y);

    /**
     * Under a recompute policy: refills what this projection dropped after forward, from what it
     * saved, and (if y is not null) writes its output again. Called before {@link #backward}.
     */
    void recompute(Tensor x, Tensor y);

    /**
     * Given the x of the last forward and dy, accumulates the parameter gradients and writes (or,
     * with accumulateDx, adds) dL/dx into dx.
     */
    void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx);

}
