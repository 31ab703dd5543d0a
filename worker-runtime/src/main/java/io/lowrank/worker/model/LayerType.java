package io.lowrank.worker.model;

/** Projection family of the 7 linears of every block (embedding, head and norms are always full-rank). */
public enum LayerType {
    /** y = x W^T, W [out, in]. */
    FULL("full", false),
    /** y = SiLU(x A) B, A [in, r], B [r, out] (CoLA, methods.md section 3). */
    COLA("cola", false),
    /** CoLA's model and parameters with the CoLA-M recompute schedule (methods.md section 4). */
    COLA_M("cola-m", true),
    /**
     * CR-Net (methods.md section 5): layer 1 full-rank; later layers y_l = b(beta_l) y_{l-1} + (x A) B.
     * Recompute (inverse reconstruction of y) is chosen per model instance, not here.
     */
    CRNET("crnet", false),
    /** ELAS (methods.md section 6): y = (x W_in) W_out^T, ReLU^2 MLP without gate, 2:4 activation sparsity. */
    ELAS("elas", false);

    public final String id;
    /** Whether the backward pass recomputes what the forward pass did not save. */
    public final boolean recomputes;

    LayerType(String id, boolean recomputes) {
        this.id = id;
        this.recomputes = recomputes;
    }

    /** Families that share CoLA's parameters (names cola_a / cola_b). */
    public boolean colaParameters() { return this == COLA || this == COLA_M; }

    public static LayerType parse(String s) {
        for (LayerType t : values()) if (t.id.equalsIgnoreCase(s)) return t;
        throw new IllegalArgumentException("unknown layer type '" + s + "': expected one of full, cola, cola-m, crnet, elas");
    }
}
