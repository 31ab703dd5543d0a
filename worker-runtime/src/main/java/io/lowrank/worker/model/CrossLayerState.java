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
 */
final class CrossLayerState {
    private final Backend be;
    private final Scratch s;
    private final Map<String, CrNetProjection> last = new HashMap<>();
    private final Map<String, Tensor> carry = new HashMap<>();
    private final Map<String, Tensor> total = new HashMap<>();
    private long bytes;

    CrossLayerState(Backend be, Scratch s) {
        this.be = be;
        this.s = s;
    }

    /** The next layer's projection of this kind; layer 0 passes only w, later layers a, b, beta. */
    CrNetProjection next(String kind, ParameterStore.Param w, ParameterStore.Param a, ParameterStore.Param b,
                         ParameterStore.Param beta, int rows) {
        int out = w != null ? w.value.dim(0) : b.value.dim(1);
        Tensor c = carry.computeIfAbsent(kind, k -> track(be.allocate(rows, out)));
        Tensor t = total.computeIfAbsent(kind, k -> track(be.allocate(rows, out)));
        CrNetProjection prev = last.get(kind);
        if ((w == null) == (prev == null)) {
            throw new IllegalStateException("CR-Net " + kind + ": the first layer must be full-rank and only the first");
        }
        CrNetProjection p = new CrNetProjection(be, w, a, b, beta, prev, c, t, rows, s.dBottleneck);
        bytes += p.savedBytes();
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

    long bytes() { return bytes; }
}
