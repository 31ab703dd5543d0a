package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/** ELAS low-rank linear y = (x W_in) W_out^T. Not implemented yet (issue 4, in progress). */
final class ElasProjection implements Projection {
    ElasProjection(Backend be, ParameterStore.Param in, ParameterStore.Param out, int rows, String kind, ActivationPlan plan, Tensor scratch) {
        throw new UnsupportedOperationException("ELAS is not implemented yet");
    }

    @Override public void forward(Tensor x, Tensor y) { throw new UnsupportedOperationException(); }
    @Override public void recompute(Tensor x, Tensor y) { throw new UnsupportedOperationException(); }
    @Override public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) { throw new UnsupportedOperationException(); }
}
