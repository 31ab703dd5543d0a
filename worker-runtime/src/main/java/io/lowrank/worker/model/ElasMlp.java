package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * ELAS MLP (methods.md section 6), no gate:
 * <pre>
 *   y1  = up(n)                    [rows, ff]
 *   y2  = ReLU(y1)^2
 *   y2s = 2:4(y2) per token        (dense warmup: y2s = y2)
 *   out = down(y2s)                down's bottleneck t = y2s W_in is a sparse x dense product
 * backward, straight-through (the gradient w.r.t. y2s is taken as the gradient w.r.t. y2, unmasked):
 *   dt = dOut W_out_down ;  dW_in_down += y2s^T dt  (sparse^T x dense) ;  dy2 = dt W_in_down^T
 *   dy1 = 2 ReLU(y1) * dy2 ;  then up's backward
 * </pre>
 *
 * <p>What is kept for backward: <b>y1 only</b> (plus the projections' rank-r bottlenecks). The
 * straight-through gradient reaches every position, the pruned ones included, so dy1 needs
 * ReLU(y1) at all ff positions: keeping the 2:4 compressed y2s (ff/2 values + positions) would add
 * to that, never replace it. y2, the 2:4 mask and y2s are exact elementwise functions of y1 and are
 * re-derived in backward (the same float operations: bitwise the values the forward used), which
 * costs O(rows ff) elementwise work and no product. Per token and layer the MLP holds ff + 2r values,
 * where keeping y1 and a dense y2 would hold 2 ff + 2r. The compressed y2s is only ever held in
 * layer-shared work memory, and the sparse products read it directly in that form.
 *
 * <p>Work memory: ELAS has no gate, so the model's gate-gradient scratch {@code Scratch.dGate}
 * [rows, ff] holds y2; the compressed y2s is one {@link Backend.Sparse24} per model (ff/2 values,
 * the ff%4 tail and ff/4 metadata bytes per token, in the native kernels' layout), taken from the
 * activation plan as shared memory; {@code Scratch.dAct} carries dy2 and then dy1. All are shared
 * by the layers: nothing of ff size is allocated per layer besides y1.
 */
final class ElasMlp implements Mlp {
    private final Backend be;
    private final ElasProjection up, down;
    private final ModelSwitches switches;
    private final Tensor y1;                 // [rows, ff]: saved
    private final Tensor y2;                 // [rows, ff]: work (Scratch.dGate)
    private final Backend.Sparse24 y2s;      // 2:4 form of y2s: work, one per model (ActivationPlan.sharedSparse24)
    private final Tensor dy;                 // [rows, ff]: dy2, then dy1 in place (Scratch.dAct)
    private boolean sparse;                  // the mode of the last forward: its backward must match it

    ElasMlp(Backend be, Projection up, Projection down, int rows, int ff, ActivationPlan plan, Scratch s, ModelSwitches switches) {
        if (!(up instanceof ElasProjection) || !(down instanceof ElasProjection)) {
            throw new IllegalArgumentException("ELAS MLP needs ELAS projections, got " + up + " and " + down);
        }
        this.be = be;
        this.up = (ElasProjection) up;
        this.down = (ElasProjection) down;
        this.switches = switches;
        this.y1 = plan.saved(rows, ff);
        this.y2 = s.dGate;
        this.y2s = plan.sharedSparse24("elas.y2s", rows, ff);
        this.dy = s.dAct;
        if (y2.size != rows * ff || (dy != null && dy.size != rows * ff)) throw new IllegalArgumentException("ELAS scratch does not hold [" + rows + ", " + ff + "]");
    }

    @Override
    public void forward(Tensor n, Tensor out) {
        sparse = switches.sparseActivations();
        up.forward(n, y1);                                   // y1 = up(n)
        be.reluSquare(y1, y2);                               // y2 = ReLU(y1)^2
        if (sparse) {
            be.prune24(y2, y2s);                             // y2s = 2:4(y2), compressed
            be.spmm24(y2s, down.wIn.value, down.bottleneck(), 0.0);   // t = y2s W_in
            down.expand(out);                                // out = t W_out^T
        } else {
            down.forward(y2, out);                           // dense warmup
        }
    }

    /** Nothing is dropped: y1 and the bottlenecks are saved (ELAS has no recompute policy). */
    @Override
    public void recompute(Tensor n) {
    }

    @Override
    public void backward(Tensor n, Tensor dOut, Tensor dn) {
        be.reluSquare(y1, y2);                               // y2 again, from the saved y1
        Tensor dt = down.backwardOut(dOut);                  // dW_out += dOut^T t ; dt = dOut W_out
        if (sparse) {
            be.prune24(y2, y2s);                             // the forward's y2s again
            be.spmm24T(y2s, dt, down.wIn.grad, 1.0);         // dW_in += y2s^T dt
        } else {
            be.matmul(y2, true, dt, false, down.wIn.grad, 1.0);       // dW_in += y2^T dt
        }
        down.inputGradient(dy, false);                       // dy2 = dt W_in^T (straight-through: not masked)
        be.reluSquareBackward(y1, dy, dy);                   // dy1 = 2 ReLU(y1) * dy2
        up.backward(n, dy, dn, false);
    }
}
