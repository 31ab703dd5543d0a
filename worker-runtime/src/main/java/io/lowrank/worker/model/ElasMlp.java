package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/** ELAS MLP: down( 2:4( ReLU(up(n))^2 ) ). Not implemented yet (issue 4, in progress). */
final class ElasMlp implements Mlp {
    ElasMlp(Backend be, Projection up, Projection down, int rows, int ff, ActivationPlan plan, Scratch s, ModelSwitches switches) {
        throw new UnsupportedOperationException("ELAS is not implemented yet");
    }

    @Override public void forward(Tensor n, Tensor out) { throw new UnsupportedOperationException(); }
    @Override public void recompute(Tensor n) { throw new UnsupportedOperationException(); }
    @Override public void backward(Tensor n, Tensor dOut, Tensor dn) { throw new UnsupportedOperationException(); }
}
