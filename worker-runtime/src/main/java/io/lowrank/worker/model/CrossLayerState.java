package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * CR-Net's cross-layer links: for each projection kind (q, k, ..., down) the previous layer's
 * projection (whose output y_{l-1} layer l adds, scaled by b(beta_l)) and the gradient carried
 * down the chain: while backward walks the layers top-down, layer l leaves b(beta_l) dy_l for layer
 * l-1, which adds it to its own dy before back-propagating (methods.md section 5). Buffers are
 * shared by all layers of a kind: only one layer is in backward at a time.
 *
 * <p>Under recompute (CR-Net's memory schedule) a layer keeps its outputs y only if it is one of
 * the checkpoint layers: max(1, L/8) of them, spaced evenly from the last layer down, never the
 * first. Every other layer writes y into one of two buffers per kind (by layer parity); backward
 * rebuilds y_{l-1} = (y_l - (x_l A_l) B_l) / b(beta_l) top-down before it is read.
 */
final class CrossLayerState {
    private final Backend be;
    private final Scratch s;
    private final Map<String, CrNetProjection> last = new HashMap<>();
    private final Map<String, Tensor> carry = new HashMap<>();
    private final Map<String, Tensor> total = new HashMap<>();
    private final Map<String, Tensor[]> parity = new HashMap<>();
    private final boolean recompute;
    private final boolean[] checkpoint;
    private int layer;      // index of the next layer handed out, per kind (all kinds advance together)
    private long bytes;

    CrossLayerState(Backend be, Scratch s, boolean recompute, int layers) {
        this.be = be;
        this.s = s;
        this.recompute = recompute;
        this.checkpoint = checkpointLayers(layers);
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

    boolean isCheckpoint(int layer) { return checkpoint[layer]; }

    /** The next layer's projection of this kind; layer 0 passes only w, later layers a, b, beta. */
    CrNetProjection next(String kind, ParameterStore.Param w, ParameterStore.Param a, ParameterStore.Param b,
                         ParameterStore.Param beta, int rows) {
        int out = w != null ? w.value.dim(0) : b.value.dim(1);
        // carry and total are gradient buffers (like Scratch): not counted as activations
        Tensor c = carry.computeIfAbsent(kind, k -> be.allocate(rows, out));
        Tensor t = total.computeIfAbsent(kind, k -> be.allocate(rows, out));
        CrNetProjection prev = last.get(kind);
        if ((w == null) == (prev == null)) {
            throw new IllegalStateException("CR-Net " + kind + ": the first layer must be full-rank and only the first");
        }
        int l = prev == null ? 0 : prev.layer + 1;
        Tensor y;
        if (!recompute || checkpoint[l]) {
            y = track(be.allocate(rows, out));
        } else {
            Tensor[] pp = parity.computeIfAbsent(kind, k -> new Tensor[]{track(be.allocate(rows, out)), track(be.allocate(rows, out))});
            y = pp[l % 2];
        }
        Tensor xa = a == null ? null : track(be.allocate(rows, a.value.dim(1)));
        boolean rebuildPrev = recompute && prev != null && !checkpoint[l - 1];
        CrNetProjection p = new CrNetProjection(be, l, w, a, b, beta, prev, c, t, y, xa, s.dBottleneck, rebuildPrev);
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

    /** Bytes of activations this state holds for backward: the y buffers (kept and parity) and x A. */
    long bytes() { return bytes; }
}
