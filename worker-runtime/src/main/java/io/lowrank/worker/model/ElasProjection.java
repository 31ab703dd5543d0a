package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * ELAS low-rank linear (methods.md section 6), no non-linearity:
 * <pre>
 *   t = x W_in          W_in  [in, r]     t [rows, r] saved (dW_out needs it)
 *   y = t W_out^T       W_out [out, r]
 * backward:
 *   dW_out += dy^T t ;  dt = dy W_out ;  dW_in += x^T dt ;  dx (+)= dt W_in^T
 * </pre>
 * The two halves are also exposed separately ({@link #expand}, {@link #backwardOut},
 * {@link #inputGradient}): {@link ElasMlp} computes its down projection's t from a 2:4 sparse input
 * and the product dW_in += x^T dt with the sparse kernels, and uses the rest as they are.
 */
final class ElasProjection implements Projection {
    private final Backend be;
    final ParameterStore.Param wIn, wOut;
    private final Tensor t;     // x W_in [rows, r]: saved
    private final Tensor dt;    // [rows, r] scratch shared by all projections of a model

    ElasProjection(Backend be, ParameterStore.Param in, ParameterStore.Param out, int rows, String kind, ActivationPlan plan, Tensor scratch) {
        if (in.value.dim(1) != out.value.dim(1)) {
            throw new IllegalArgumentException(kind + ": W_in " + in.value + " and W_out " + out.value + " have different ranks");
        }
        this.be = be;
        this.wIn = in;
        this.wOut = out;
        this.t = plan.saved(rows, in.value.dim(1));
        this.dt = scratch;
    }

    @Override
    public void forward(Tensor x, Tensor y) {
        be.matmul(x, false, wIn.value, false, t, 0.0);   // t = x W_in
        expand(y);                                        // y = t W_out^T
    }

    /** The saved bottleneck t [rows, r]; ElasMlp writes it for a sparse input. */
    Tensor bottleneck() { return t; }

    /** y = t W_out^T from the current bottleneck. */
    void expand(Tensor y) {
        be.matmul(t, false, wOut.value, true, y, 0.0);
    }

    /** dW_out += dy^T t ; dt = dy W_out. Returns dt (the shared scratch, valid until the next projection's backward). */
    Tensor backwardOut(Tensor dy) {
        be.matmul(dy, true, t, false, wOut.grad, 1.0);
        be.matmul(dy, false, wOut.value, false, dt, 0.0);
        return dt;
    }

    /** dx (+)= dt W_in^T, after {@link #backwardOut}. */
    void inputGradient(Tensor dx, boolean accumulateDx) {
        be.matmul(dt, false, wIn.value, true, dx, accumulateDx ? 1.0 : 0.0);
    }

    @Override
    public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        backwardOut(dy);                                   // dW_out += dy^T t ; dt = dy W_out
        be.matmul(x, true, dt, false, wIn.grad, 1.0);      // dW_in += x^T dt
        inputGradient(dx, accumulateDx);                   // dx (+)= dt W_in^T
    }

    /** t is always saved: only the output (if asked for) is recomputed, from t. */
    @Override
    public void recompute(Tensor x, Tensor y) {
        if (y != null) expand(y);
    }
}
