package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * Projections that read the same input: q/k/v of attention, gate/up of SwiGLU. When every member
 * is CoLA, or every member is dense, the products on the input's side are grouped:
 * <pre>
 *   CoLA:  [h_g]  = x [A_g], z_g = SiLU(h_g)   (one product, x read once; SiLU in its epilogue)
 *          dA_g  += x^T dh_g                   (one product)
 *          dx    (+)= sum_g dh_g A_g^T         (one product, dx written once)
 *   dense: [y_g]  = x [W_g^T];   dx (+)= sum_g dy_g W_g
 * </pre>
 * and the rest (the B factors, dh = (dy B^T) * SiLU'(h), dense dW) stays per member. The
 * results equal the members' own forward and backward up to float rounding. Other families
 * (CR-Net's chained projections, ELAS) run their members one by one, in order.
 * {@code -Dlowrank.grouped=false} runs every group member by member (for A/B measurements).
 */
final class SharedInputGroup {
    /** System property: false turns the grouped products off. */
    static final String GROUPED_PROPERTY = "lowrank.grouped";

    private final Backend be;
    private final Projection[] members;
    private final ColaProjection[] cola;     // the members, when all are CoLA; else null
    private final DenseProjection[] dense;   // the members, when all are dense; else null
    // operand lists of the grouped products, built once (a step allocates nothing)
    private final Tensor[] factorA, factorAGrad, h, z, dh, weight;

    SharedInputGroup(Backend be, Projection... members) {
        this.be = be;
        this.members = members.clone();
        int n = members.length;
        ColaProjection[] c = new ColaProjection[n];
        DenseProjection[] d = new DenseProjection[n];
        boolean grouped = !"false".equals(System.getProperty(GROUPED_PROPERTY));
        boolean allCola = grouped, allDense = grouped;
        for (int i = 0; i < n; i++) {
            if (members[i] instanceof ColaProjection) c[i] = (ColaProjection) members[i]; else allCola = false;
            if (members[i] instanceof DenseProjection) d[i] = (DenseProjection) members[i]; else allDense = false;
        }
        this.cola = allCola ? c : null;
        this.dense = allDense ? d : null;
        this.factorA = new Tensor[n];
        this.factorAGrad = new Tensor[n];
        this.h = new Tensor[n];
        this.z = new Tensor[n];
        this.dh = new Tensor[n];
        this.weight = new Tensor[n];
        for (int i = 0; i < n; i++) {
            if (allCola) {
                factorA[i] = c[i].factorA();
                factorAGrad[i] = c[i].factorAGrad();
                h[i] = c[i].h();
                z[i] = c[i].z();
                dh[i] = c[i].dh();
                for (int j = 0; j < i; j++) {
                    if (dh[j] == dh[i]) throw new IllegalArgumentException("CoLA members " + j + " and " + i + " share a dh scratch");
                }
            }
            if (allDense) weight[i] = d[i].weight();
        }
    }

    /** ys[i] = member i (x). */
    void forward(Tensor x, Tensor[] ys) {
        if (cola != null) {
            be.colaBottleneckForward(x, factorA, h, z);                 // h_g = x A_g, z_g = SiLU(h_g)
            for (int i = 0; i < cola.length; i++) cola[i].outputFromZ(ys[i]);
        } else if (dense != null) {
            be.matmulSharedA(x, false, weight, true, ys, 0.0);           // y_g = x W_g^T
        } else {
            for (int i = 0; i < members.length; i++) members[i].forward(x, ys[i]);
        }
    }

    /** Each member's {@link Projection#recompute} (no product on the shared input). */
    void recompute(Tensor x, Tensor[] ys) {
        for (int i = 0; i < members.length; i++) members[i].recompute(x, ys == null ? null : ys[i]);
    }

    /** Parameter gradients accumulate; dx (+)= the sum over members of dL/dx through member i. */
    void backward(Tensor x, Tensor[] dys, Tensor dx, boolean accumulateDx) {
        if (cola != null) {
            for (int i = 0; i < cola.length; i++) cola[i].backwardToDh(dys[i]);
            be.matmulSharedA(x, true, dh, false, factorAGrad, 1.0);       // dA_g += x^T dh_g
            be.matmulSumK(dh, false, factorA, true, dx, accumulateDx ? 1.0 : 0.0);   // dx (+)= sum dh_g A_g^T
        } else if (dense != null) {
            for (int i = 0; i < dense.length; i++) dense[i].backwardWeight(x, dys[i]);
            be.matmulSumK(dys, false, weight, false, dx, accumulateDx ? 1.0 : 0.0); // dx (+)= sum dy_g W_g
        } else {
            for (int i = 0; i < members.length; i++) members[i].backward(x, dys[i], dx, accumulateDx || i > 0);
        }
    }
}
