package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Tensor;

/** The feed-forward half of a block: out = MLP(n), n the post-attention norm output. */
interface Mlp {
    void forward(Tensor n, Tensor out);

    /** Refills what a recompute policy dropped, from the saved tensors (only called under recompute). */
    void recompute(Tensor n);

    /** Accumulates parameter gradients; writes dL/dn into dn. */
    void backward(Tensor n, Tensor dOut, Tensor dn);
}
