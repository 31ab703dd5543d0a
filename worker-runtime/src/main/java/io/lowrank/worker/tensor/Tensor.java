package io.lowrank.worker.tensor;

import java.util.Arrays;

/**
 * A dense row-major view into a {@link Storage}. Element access goes through {@link #get}/{@link #set}
 * in double precision: kernels are written once for float32 and float64 (gradient checks), and
 * the branch on the storage type is perfectly predicted inside a loop.
 */
public final class Tensor {
    public final DType dtype;
    private final int[] shape;
    public final int size;
    final Storage storage;
    final int offset;
    private final boolean f32;

    Tensor(Storage storage, int offset, int[] shape) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape.clone();
        this.dtype = storage.dtype;
        this.f32 = dtype == DType.F32;
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " exceeds 2^31 elements");
        if (offset < 0 || offset + n > storage.length) {
            throw new IllegalArgumentException("view [" + offset + ", " + (offset + n) + ") outside storage of " + storage.length + " elements");
        }
        this.size = (int) n;
    }

    public int[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public Storage storage() { return storage; }
    public int offset() { return offset; }

    public double get(int i) { return f32 ? storage.f.get(offset + i) : storage.d.get(offset + i); }

    public void set(int i, double v) {
        if (f32) storage.f.put(offset + i, (float) v); else storage.d.put(offset + i, v);
    }

    public void add(int i, double v) {
        int j = offset + i;
        if (f32) storage.f.put(j, storage.f.get(j) + (float) v); else storage.d.put(j, storage.d.get(j) + v);
    }

    /** A view of {@code shape} starting {@code elementOffset} elements into this tensor. */
    public Tensor view(int elementOffset, int... newShape) {
        Tensor t = new Tensor(storage, offset + elementOffset, newShape);
        if (elementOffset < 0 || elementOffset + t.size > size) {
            throw new IllegalArgumentException("view at " + elementOffset + " of shape " + Arrays.toString(newShape) + " exceeds tensor " + Arrays.toString(shape));
        }
        return t;
    }

    public Tensor reshape(int... newShape) { return view(0, newShape); }

    public double[] toDoubleArray() {
        double[] out = new double[size];
        for (int i = 0; i < size; i++) out[i] = get(i);
        return out;
    }

    public float[] toFloatArray() {
        float[] out = new float[size];
        for (int i = 0; i < size; i++) out[i] = (float) get(i);
        return out;
    }

    public void copyFrom(double[] src) {
        checkLength(src.length);
        for (int i = 0; i < size; i++) set(i, src[i]);
    }

    public void copyFrom(float[] src) {
        checkLength(src.length);
        for (int i = 0; i < size; i++) set(i, src[i]);
    }

    private void checkLength(int n) {
        if (n != size) throw new IllegalArgumentException("array of " + n + " elements does not fit tensor " + Arrays.toString(shape));
    }

    @Override
    public String toString() { return "Tensor" + Arrays.toString(shape) + " " + dtype; }
}
