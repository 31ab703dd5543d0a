package io.lowrank.worker.model;

/** Projection family of the 7 linears of every block (embedding, head and norms are always full-rank). */
public enum LayerType {
    /** y = x W^T, W [out, in]. */
    FULL("full"),
    /** y = SiLU(x A) B, A [in, r], B [r, out] (CoLA, methods.md section 3). */
    COLA("cola");

    public final String id;

    LayerType(String id) { this.id = id; }

    public static LayerType parse(String s) {
        for (LayerType t : values()) if (t.id.equalsIgnoreCase(s)) return t;
        throw new IllegalArgumentException("unknown layer type '" + s + "': expected one of full, cola");
    }
}
