package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/** Full-rank y = x W^T with W [out, in] (Hugging Face layout). Saves nothing beyond its input. */
public final class DenseProjection implements Projection {
    private final Backend be;
    private final ParameterStore.Param w;

    public DenseProjection(Backend be, ParameterStore.Param weight) {
        this.be = be;
        this.w = weight;
    }

    @Override
    public void forward(Tensor x, Tensor y) {
        be.matmul(x, false, w.value, true, y, 0.0);            // y = x W^T
    }

    @Override
    public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        backwardWeight(x, dy);
        be.matmul(dy, false, w.value, false, dx, accumulateDx ? 1.0 : 0.0); // dx (+)= dy W
    }

    /** dW += dy^T x only (SharedInputGroup writes dx for all its members at once). */
    void backwardWeight(Tensor x, Tensor dy) {
        be.matmul(dy, true, x, false, w.grad, 1.0);             // dW += dy^T x
    }

    Tensor weight() { return w.value; }

    @Override
    public void recompute(Tensor x, Tensor y) {
        if (y != null) forward(x, y);
    }
}
