package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * CR-Net's cross-layer links: for each projection kind (q, k, ..., down) the previous layer's
 * projection (whose output y_{l-1} layer l adds, scaled by b(beta_l)) and the gradient carried
 * down the chain: while backward walks the layers top-down, layer l leaves b(beta_l) dy_l for layer
 * l-1, which adds it to its own dy before back-propagating (methods.md section 5). Gradient buffers
 * are shared by all layers of a kind: only one layer is in backward at a time.
 *
 * <p>Under recompute (CR-Net's memory schedule) all layers of a kind share one <em>chain</em>
 * buffer: forward turns y_{l-1} into y_l in place, so after forward it holds the top layer's y, and
 * backward turns it back into y_{l-1} in place once layer l no longer reads y_l, by the exact
 * inverse y_{l-1} = (y_l - (x_l A_l) B_l) / b(beta_l), or by copying the kept y of a checkpoint
 * layer: max(1, L/8) of them, spaced evenly from the last layer down, never the first (the last
 * needs no copy: the chain holds it). The chain of v, gate and up is the block's own buffer for
 * that output (attention's v, the MLP's gate and up), which the plan shares across layers anyway.
 *
 * <p>down needs neither the inverse nor kept copies: a block adds o's and down's outputs to the
 * residual stream it keeps anyway, x_{l+1} = x_l + y_o + y_down, so y_down of layer l-1 is
 * x_l - x_{l-1} - y_o,{l-1} once o's chain holds y_o,{l-1}. o therefore restores its chain as soon
 * as the block has rebuilt h from it (in recompute), before the MLP's backward reads y_down. That
 * saves one rank-r product per layer; the rounding is eps |x| per layer and does not compound.
 */
final class CrossLayerState {
    /** Kinds whose chain is the block's recompute buffer of the same output (see class comment). */
    private static final Map<String, String> BLOCK_BUFFER = Map.of(
            "v_proj", DecoderBlock.V_BUFFER, "gate_proj", SwiGluMlp.GATE_BUFFER, "up_proj", SwiGluMlp.UP_BUFFER);

    private final Backend be;
    private final Scratch s;
    private final ActivationPlan plan;
    private final Map<String, CrNetProjection> last = new HashMap<>();
    private final Map<String, Tensor> carry = new HashMap<>();
    private final Map<String, Tensor> total = new HashMap<>();
    private final Map<String, Tensor> chain = new HashMap<>();
    private final boolean recompute;
    private final boolean[] checkpoint;
    private final Tensor[] blockInput;   // x_l of each layer, for down's restore from the residual stream
    private long bytes;

    CrossLayerState(Backend be, Scratch s, ActivationPlan plan, int layers) {
        this.be = be;
        this.s = s;
        this.plan = plan;
        this.recompute = plan.recomputes();
        this.checkpoint = checkpointLayers(layers);
        this.blockInput = new Tensor[layers];
    }

    /** max(1, L/8) layers spaced evenly from the last down; never layer 0 (unless L == 1). */
    static boolean[] checkpointLayers(int layers) {
        boolean[] c = new boolean[layers];
        int count = Math.max(1, layers / 8), stride = Math.max(1, layers / count);
        for (int k = 0; k < count; k++) {
            int l = layers - 1 - k * stride;
            if (l >= 1 || layers == 1) c[l] = true;
        }
        return c;
    }

    /**
     * The next layer's projection of this kind; layer 0 passes only w, later layers a, b, beta. x:
     * the block's input (the residual stream x_l). A layer creates o before down.
     */
    CrNetProjection next(String kind, ParameterStore.Param w, ParameterStore.Param a, ParameterStore.Param b,
                         ParameterStore.Param beta, int rows, Tensor x) {
        int out = w != null ? w.value.dim(0) : b.value.dim(1);
        // carry and total are gradient buffers (like Scratch): not counted as activations
        Tensor c = carry.computeIfAbsent(kind, k -> be.allocate(rows, out));
        Tensor t = total.computeIfAbsent(kind, k -> be.allocate(rows, out));
        CrNetProjection prev = last.get(kind);
        if ((w == null) == (prev == null)) {
            throw new IllegalStateException("CR-Net " + kind + ": the first layer must be full-rank and only the first");
        }
        int l = prev == null ? 0 : prev.layer + 1;
        blockInput[l] = x;
        boolean down = kind.equals("down_proj");
        Tensor y, prevY = null, kept = null;
        CrNetProjection.Restore restore = CrNetProjection.Restore.NONE;
        CrNetProjection.Residual residual = null;
        if (!recompute) {
            y = track(be.allocate(rows, out));
            if (prev != null) prevY = prev.y;
        } else {
            y = chain.computeIfAbsent(kind, k -> BLOCK_BUFFER.containsKey(k)
                    ? plan.work(BLOCK_BUFFER.get(k), rows, out) : track(be.allocate(rows, out)));
            // kept copies serve the backward restore only: an inference plan has no backward
            if (!down && checkpoint[l] && l != checkpoint.length - 1 && !plan.isForwardOnly()) kept = track(be.allocate(rows, out));
            if (prev != null) {
                prevY = y;
                if (down) {
                    Tensor oChain = chain.get("o_proj");
                    if (oChain == null) throw new IllegalStateException("CR-Net layer " + l + ": o must be created before down");
                    restore = CrNetProjection.Restore.FROM_RESIDUAL;
                    residual = new CrNetProjection.Residual(blockInput[l], blockInput[l - 1], oChain);
                } else {
                    restore = checkpoint[l - 1] ? CrNetProjection.Restore.FROM_KEPT : CrNetProjection.Restore.REBUILD;
                }
            }
        }
        // x A is read by backward; in a forward-only plan it only lives within the layer
        Tensor xa = a == null ? null : plan.isForwardOnly() ? plan.saved(rows, a.value.dim(1)) : track(be.allocate(rows, a.value.dim(1)));
        boolean restoreInRecompute = kind.equals("o_proj");
        CrNetProjection p = new CrNetProjection(be, plan, l, w, a, b, beta, prev, c, t, y, prevY, kept, xa, s.dBottleneck,
                restore, residual, restoreInRecompute);
        last.put(kind, p);
        return p;
    }

    private Tensor track(Tensor t) {
        bytes += (long) t.size * t.dtype.bytes;
        return t;
    }

    /** Nothing is carried into the top layer. */
    void startBackward() {
        for (Tensor c : carry.values()) be.fill(c, 0.0);
    }

    /**
     * Bytes of activations this state holds for backward beyond the plan's buffers: x A per layer,
     * the chain buffers (or every layer's y without recompute) and the checkpoint layers' kept y.
     */
    long bytes() { return bytes; }
}
