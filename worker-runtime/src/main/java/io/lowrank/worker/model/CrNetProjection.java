package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * A CR-Net projection (methods.md section 5):
 * <pre>
 *   layer 1:       y_1 = x W^T                                  (full-rank, W [out, in])
 *   layer l >= 2:  y_l = b(beta_l) y_{l-1} + (x A_l) B_l        b(beta) = sign(beta) (|beta| + 1e-6)
 * </pre>
 * Backward, with dy the total gradient of y_l (its own plus b(beta_{l+1}) dy_{l+1} carried from the
 * layer above): dB = (xA)^T dy; dA = x^T (dy B^T); dx = dy B^T A^T; dbeta = sum(dy * y_{l-1})
 * (b'(beta) = 1 away from 0); the layer below receives b(beta_l) dy.
 *
 * <p>Under recompute y and y_{l-1} are one buffer (see {@link CrossLayerState}); backward first
 * restores y_{l-1} there, which is the last moment: the block has read y_l by then, and dbeta needs
 * y_{l-1} (o restores earlier, in recompute, because down's restore reads y_o,{l-1}). Both schedules compute y_l with the same operations in the same order, so their forward
 * passes agree bitwise.
 */
final class CrNetProjection implements Projection {
    static final double BETA_EPS = 1e-6;

    /** How backward obtains y_{l-1} under recompute. */
    enum Restore { NONE, REBUILD, FROM_KEPT, FROM_RESIDUAL }

    /** down's y_{l-1} = x_l - x_{l-1} - y_o,{l-1}: the block inputs and o's chain (holding y_o,{l-1}). */
    record Residual(Tensor input, Tensor previousInput, Tensor oChain) { }

    private final Backend be;
    private final ActivationPlan plan;
    private final ParameterStore.Param w, a, b, beta;
    private final CrNetProjection prev;
    private final Tensor carry, total;    // shared per kind
    final Tensor y;                       // this layer's output (under recompute: the kind's chain buffer)
    private final Tensor prevY;           // y_{l-1}: the previous layer's y, or the same chain buffer
    final Tensor kept;                    // checkpoint layers under recompute: a copy of y, else null
    private final Tensor xa;              // x A [rows, r], saved for dB and for the inverse
    private final Tensor dxa;             // scratch [rows, r]
    final int layer;
    private final Restore restore;
    private final Residual residual;
    private final boolean restoreInRecompute;

    CrNetProjection(Backend be, ActivationPlan plan, int layer, ParameterStore.Param w, ParameterStore.Param a,
                    ParameterStore.Param b, ParameterStore.Param beta, CrNetProjection prev, Tensor carry, Tensor total,
                    Tensor y, Tensor prevY, Tensor kept, Tensor xa, Tensor scratch, Restore restore, Residual residual,
                    boolean restoreInRecompute) {
        this.be = be;
        this.plan = plan;
        this.layer = layer;
        this.w = w;
        this.a = a;
        this.b = b;
        this.beta = beta;
        this.prev = prev;
        this.carry = carry;
        this.total = total;
        this.y = y;
        this.prevY = prevY;
        this.kept = kept;
        this.xa = xa;
        this.dxa = scratch;
        this.restore = restore;
        this.residual = residual;
        this.restoreInRecompute = restoreInRecompute;
    }

    static double coefficient(double beta) {
        return Math.signum(beta) * (Math.abs(beta) + BETA_EPS);
    }

    double coefficient() { return coefficient(be.valueAt(beta.value, 0)); }

    /** out may be y itself (the chain buffer the block reads); otherwise y is copied there. */
    @Override
    public void forward(Tensor x, Tensor out) {
        if (w != null) {
            be.matmul(x, false, w.value, true, y, 0.0);            // y_1 = x W^T
        } else {
            be.matmul(x, false, a.value, false, xa, 0.0);          // xa = x A
            if (y != prevY) be.copy(prevY, y);
            be.scale(y, coefficient());                            // y = b(beta) y_{l-1}
            be.matmul(xa, false, b.value, false, y, 1.0);          //   + xa B
        }
        if (kept != null) be.copy(y, kept);
        if (out != y) be.copy(y, out);   // the block may rotate (rope) its copy in place; y stays the projection output
    }

    /**
     * Under recompute y holds y_l again when layer l's backward starts (restored by layer l+1); the
     * block's buffer gets y_l, then o turns its chain into y_{l-1} (the block counts this as recompute).
     */
    @Override
    public void recompute(Tensor x, Tensor out) {
        if (out != null && out != y) be.copy(y, out);
        if (restoreInRecompute) restorePrev();
    }

    /** Turns the chain buffer from y_l into y_{l-1}. */
    private void restorePrev() {
        switch (restore) {
            case REBUILD -> {
                be.matmul(xa, false, b.value, false, y, -1.0);      // (x A) B - y_l
                be.scale(y, -1.0 / coefficient());                  // (y_l - (x A) B) / b(beta_l)
            }
            case FROM_KEPT -> be.copy(prev.kept, y);
            case FROM_RESIDUAL -> {
                be.copy(residual.input(), y);                       // x_l
                be.axpy(-1.0, residual.previousInput(), y);         //   - x_{l-1}
                be.axpy(-1.0, residual.oChain(), y);                //   - y_o,{l-1}
            }
            case NONE -> { }
        }
    }

    @Override
    public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
        if (!restoreInRecompute) {
            long flops = be.gemmFlops();
            restorePrev();
            plan.countRecompute(be.gemmFlops() - flops);            // a rebuild's product is recompute work
        }
        be.copy(dy, total);
        be.axpy(1.0, carry, total);                                 // dy_l += b(beta_{l+1}) dy_{l+1}
        double acc = accumulateDx ? 1.0 : 0.0;
        if (w != null) {
            be.matmul(total, true, x, false, w.grad, 1.0);          // dW += dy^T x
            be.matmul(total, false, w.value, false, dx, acc);       // dx (+)= dy W
            return;
        }
        be.matmul(xa, true, total, false, b.grad, 1.0);             // dB += (xA)^T dy
        be.matmul(total, false, b.value, true, dxa, 0.0);           // dxa = dy B^T
        be.matmul(x, true, dxa, false, a.grad, 1.0);                // dA += x^T dxa
        be.matmul(dxa, false, a.value, true, dx, acc);              // dx (+)= dxa A^T
        be.addAt(beta.grad, 0, be.dot(total, prevY));              // dbeta += sum(dy * y_{l-1})
        be.copy(total, carry);
        be.scale(carry, coefficient());                             // carried to layer l-1
    }
}
