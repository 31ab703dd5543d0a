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
 */
final class CrNetProjection implements Projection {
    static final double BETA_EPS = 1e-6;

    private final Backend be;
    private final ParameterStore.Param w, a, b, beta;
    private final CrNetProjection prev;
    private final Tensor carry, total;    // shared per kind
    private final Tensor y;               // this layer's output, read by the next layer and by its dbeta
    private final Tensor xa;              // x A [rows, r], saved for dB
    private final Tensor dxa;             // scratch [rows, r]
    final int layer;
    private final boolean rebuildPrev;    // recompute: y_{l-1} is not kept and must be rebuilt from y_l

    CrNetProjection(Backend be, int layer, ParameterStore.Param w, ParameterStore.Param a, ParameterStore.Param b,
                    ParameterStore.Param beta, CrNetProjection prev, Tensor carry, Tensor total, Tensor y, Tensor xa,
                    Tensor scratch, boolean rebuildPrev) {
        this.be = be;
        this.layer = layer;
        this.w = w;
        this.a = a;
        this.b = b;
        this.beta = beta;
        this.prev = prev;
        this.carry = carry;
        this.total = total;
        this.y = y;
        this.xa = xa;
        this.dxa = scratch;
        this.rebuildPrev = rebuildPrev;
    }

    static double coefficient(double beta) {
        return Math.signum(beta) * (Math.abs(beta) + BETA_EPS);
    }

    double coefficient() { return coefficient(beta.value.get(0)); }

    @Override
    public void forward(Tensor x, Tensor out) {
        if (w != null) {
            be.matmul(x, false, w.value, true, y, 0.0);            // y_1 = x W^T
        } else {
            be.matmul(x, false, a.value, false, xa, 0.0);          // xa = x A
            be.matmul(xa, false, b.value, false, y, 0.0);          // y = xa B
            be.axpy(coefficient(), prev.y, y);                     // y += b(beta) y_{l-1}
        }
        be.copy(y, out);   // the block may rotate (rope) its copy in place; y stays the projection output
    }

    /**
     * Under recompute, called top-down before this layer's backward: y_l is valid (kept, or rebuilt
     * by layer l+1); rebuild y_{l-1} = (y_l - (x_l A_l) B_l) / b(beta_l) exactly as the forward
     * pass combined them, then hand out y_l.
     */
    @Override
    public void recompute(Tensor x, Tensor out) {
        if (rebuildPrev) {
            be.matmul(xa, false, b.value, false, prev.y, 0.0);      // (x A) B
            be.scale(prev.y, -1.0);
            be.axpy(1.0, y, prev.y);                                // y_l - (x A) B
            be.scale(prev.y, 1.0 / coefficient());                  // / b(beta_l)
        }
        if (out != null) be.copy(y, out);
    }

    @Override
    public void backward(Tensor x, Tensor dy, Tensor dx, boolean accumulateDx) {
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
        beta.grad.add(0, be.dot(total, prev.y));                    // dbeta += sum(dy * y_{l-1})
        be.copy(total, carry);
        be.scale(carry, coefficient());                             // carried to layer l-1
    }

}
