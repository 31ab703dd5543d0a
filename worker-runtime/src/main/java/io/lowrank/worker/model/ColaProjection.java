package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * CoLA bottleneck (methods.md section 3): h = x A, z = SiLU(h), y = z B with A [in, r], B [r, out].
 * Saves h [rows, r]; z is saved too unless the plan recomputes it (CoLA-M keeps only the rank-r
 * h per projection and recomputes z = SiLU(h), and the output when needed). Backward: dB = z^T dy; dz = dy B^T; dh = dz * SiLU'(h); dA = x^T dh;
 * dx = dh A^T.
 */
public final class ColaProjection implements Projection {
    private final Backend be;
    private final ParameterStore.Param a, b;
    private final Tensor h, z;     // saved for backward
    private final Tensor dz;       // dh scratch, shared with the CoLA projections of other layers and groups
    private final Tensor[] aValue, hs, zs;   // {A}, {h}, {z}: this projection as a group of one

    ColaProjection(Backend be, ParameterStore.Param a, ParameterStore.Param b, int rows, String kind, ActivationPlan plan,
                   Tensor sharedScratch) {
        this.be = be;
        this.a = a;
        this.b = b;
        int r = a.value.dim(1);
        this.h = plan.saved(rows, r);
        this.z = plan.work(kind + ".z", rows, r);
        this.dz = sharedScratch;
        this.aValue = new Tensor[]{a.value};
        this.hs = new Tensor[]{h};
        this.zs = new Tensor[]{z};
    }

    @Override
    public void forward(Tensor x, Tensor y) {
        be.colaBottleneckForward(x, aValue, hs, zs);    // h = x A, z = SiLU(h)
        outputFromZ(y);
    }

    @Override
    public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        backwardToDh(dy);
        be.matmul(x, true, dz, false, a.grad, 1.0);     // dA += x^T dh
        be.matmul(dz, false, a.value, true, dx, accumulateDx ? 1.0 : 0.0); // dx (+)= dh A^T
    }

    // ---- the steps apart from the products on x, for SharedInputGroup's grouped products ----

    /** y = z B from z (= SiLU(x A), already written). */
    void outputFromZ(Tensor y) {
        be.matmul(z, false, b.value, false, y, 0.0);   // y = z B
    }

    /** dB += z^T dy; dh = (dy B^T) * SiLU'(h) into {@link #dh()}. */
    void backwardToDh(Tensor dy) {
        be.matmul(z, true, dy, false, b.grad, 1.0);     // dB += z^T dy
        be.colaBottleneckBackward(dy, b.value, h, dz);  // dh = (dy B^T) * SiLU'(h)
    }

    Tensor factorA() { return a.value; }
    Tensor factorAGrad() { return a.grad; }
    Tensor h() { return h; }
    Tensor z() { return z; }
    /** The dh of the last {@link #backwardToDh}: a scratch buffer (members of one group need their own). */
    Tensor dh() { return dz; }

    @Override
    public void recompute(Tensor x, Tensor y) {
        be.silu(h, z);                                  // z = SiLU(h) from the saved h: no x A product
        if (y != null) be.matmul(z, false, b.value, false, y, 0.0);
    }
}
