package io.lowrank.worker.tensor;

/** Element type of a tensor. float32 trains; float64 exists so gradient checks can use finite differences. */
public enum DType {
    F32(4, "F32"),
    F64(8, "F64");

    public final int bytes;
    /** The safetensors spelling of this type. */
    public final String safetensorsName;

    DType(int bytes, String safetensorsName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
    }

    public static DType parse(String s) {
        switch (s.toLowerCase()) {
            case "f32": case "float32": case "float": return F32;
            case "f64": case "float64": case "double": return F64;
            default: throw new IllegalArgumentException("unknown dtype '" + s + "': use float32 or float64");
        }
    }
}
