package io.lowrank.worker.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * An on-heap named-array value as stored in a safetensors file: a dtype, a row-major shape and the
 * elements.
 *
 * <p>Storage: F32, BF16 and F16 hold a {@code float[]} (BF16/F16 values are exactly representable
 * values of that format: the factories round, the reader decodes exactly), F64 a {@code double[]},
 * I32 an {@code int[]}, I64 a {@code long[]}. A 0-d tensor has shape {@code []} and one element.
 *
 * <p>Immutable-ish: factories take ownership of the array passed in (no copy, so multi-GB tensors
 * are not duplicated); callers must not modify it afterwards. All accessors return copies.
 */
public final class HostTensor {
    public static final String F32 = "F32";
    public static final String F64 = "F64";
    public static final String BF16 = "BF16";
    public static final String F16 = "F16";
    public static final String I32 = "I32";
    public static final String I64 = "I64";

    private final String dtype;
    private final long[] shape;
    private final float[] floats;
    private final double[] doubles;
    private final int[] ints;
    private final long[] longs;

    private HostTensor(String dtype, long[] shape, float[] f, double[] d, int[] i, long[] l, int length) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = numelOf(this.shape, dtype);
        if (n != length) {
            throw new IllegalArgumentException(dtype + " tensor of shape " + Arrays.toString(shape)
                    + " needs " + n + " elements but data has " + length);
        }
        this.floats = f;
        this.doubles = d;
        this.ints = i;
        this.longs = l;
    }

    /** F32 tensor; takes ownership of {@code data}. */
    public static HostTensor f32(long[] shape, float[] data) {
        Objects.requireNonNull(data, "data");
        return new HostTensor(F32, shape, data, null, null, null, data.length);
    }

    /** F64 tensor; takes ownership of {@code data}. */
    public static HostTensor f64(long[] shape, double[] data) {
        Objects.requireNonNull(data, "data");
        return new HostTensor(F64, shape, null, data, null, null, data.length);
    }

    /** BF16 tensor: {@code values} are rounded (nearest even) to bfloat16 into a new array. */
    public static HostTensor bf16(long[] shape, float[] values) {
        float[] r = new float[values.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[k]));
        }
        return new HostTensor(BF16, shape, r, null, null, null, r.length);
    }

    /** F16 tensor: {@code values} are rounded (nearest even) to binary16 into a new array. */
    public static HostTensor f16(long[] shape, float[] values) {
        float[] r = new float[values.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = HalfFloats.f16ToFloat(HalfFloats.floatToF16(values[k]));
        }
        return new HostTensor(F16, shape, r, null, null, null, r.length);
    }

    /** I32 tensor; takes ownership of {@code data}. */
    public static HostTensor i32(long[] shape, int[] data) {
        Objects.requireNonNull(data, "data");
        return new HostTensor(I32, shape, null, null, data, null, data.length);
    }

    /** I64 tensor; takes ownership of {@code data}. */
    public static HostTensor i64(long[] shape, long[] data) {
        Objects.requireNonNull(data, "data");
        return new HostTensor(I64, shape, null, null, null, data, data.length);
    }

    /** Reader path: values already exact in {@code dtype} (F32, BF16 or F16); no rounding, no copy. */
    static HostTensor ofStoredFloats(String dtype, long[] shape, float[] data) {
        return new HostTensor(dtype, shape, data, null, null, null, data.length);
    }

    /** Number of elements of {@code shape} (1 for a 0-d shape); rejects negative dims and overflow. */
    public static long numelOf(long[] shape, String what) {
        Objects.requireNonNull(shape, "shape");
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(what + ": negative dimension in shape " + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(what + ": shape " + Arrays.toString(shape) + " overflows a long");
            }
        }
        return n;
    }

    public String dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        if (floats != null) return floats.length;
        if (doubles != null) return doubles.length;
        if (ints != null) return ints.length;
        return longs.length;
    }

    /** Bytes this tensor occupies in a safetensors file. */
    public long byteSize() {
        return numel() * Safetensors.dtypeSize(dtype);
    }

    /** Elements as a new float[] (F64 and I64 values are rounded to the nearest float). */
    public float[] toFloatArray() {
        if (floats != null) return floats.clone();
        int n = (int) numel();
        float[] r = new float[n];
        for (int k = 0; k < n; k++) {
            r[k] = doubles != null ? (float) doubles[k] : ints != null ? (float) ints[k] : (float) longs[k];
        }
        return r;
    }

    /** Elements as a new double[] (exact for every dtype except I64 beyond 2^53). */
    public double[] toDoubleArray() {
        if (doubles != null) return doubles.clone();
        int n = (int) numel();
        double[] r = new double[n];
        for (int k = 0; k < n; k++) {
            r[k] = floats != null ? floats[k] : ints != null ? ints[k] : (double) longs[k];
        }
        return r;
    }

    /** Elements of an I32 tensor as a new int[]. */
    public int[] toIntArray() {
        if (ints == null) throw new IllegalStateException("toIntArray on a " + dtype + " tensor");
        return ints.clone();
    }

    /** Elements of an I32 or I64 tensor as a new long[]. */
    public long[] toLongArray() {
        if (longs != null) return longs.clone();
        if (ints == null) throw new IllegalStateException("toLongArray on a " + dtype + " tensor");
        long[] r = new long[ints.length];
        for (int k = 0; k < r.length; k++) r[k] = ints[k];
        return r;
    }

    // Package-private zero-copy views for the writer.
    float[] floatsView() { return floats; }
    double[] doublesView() { return doubles; }
    int[] intsView() { return ints; }
    long[] longsView() { return longs; }

    /** Same dtype, shape and bit-identical elements. */
    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof HostTensor t)) return false;
        return dtype.equals(t.dtype) && Arrays.equals(shape, t.shape)
                && Arrays.equals(floats, t.floats) && Arrays.equals(doubles, t.doubles)
                && Arrays.equals(ints, t.ints) && Arrays.equals(longs, t.longs);
    }

    @Override
    public int hashCode() {
        int h = dtype.hashCode() * 31 + Arrays.hashCode(shape);
        h = h * 31 + Arrays.hashCode(floats);
        h = h * 31 + Arrays.hashCode(doubles);
        h = h * 31 + Arrays.hashCode(ints);
        return h * 31 + Arrays.hashCode(longs);
    }

    @Override
    public String toString() {
        return "HostTensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
