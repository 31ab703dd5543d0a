package io.lowrank.worker.tensor;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * One contiguous off-heap allocation. Tensors are views (offset + shape) into a storage, so that
 * all parameters (and all gradients) can live in one flat buffer that the optimizer, the
 * gradient-norm clip and the all-reduce walk in a single pass.
 */
public final class Storage {
    final DType dtype;
    final long address;        // native address of element 0
    final int length;          // elements
    final FloatBuffer f;       // non-null iff dtype == F32
    final DoubleBuffer d;      // non-null iff dtype == F64
    private final Object owner; // keeps the backend's allocation reachable while this storage lives

    Storage(DType dtype, long address, int length, FloatBuffer f, DoubleBuffer d, Object owner) {
        this.dtype = dtype;
        this.address = address;
        this.length = length;
        this.f = f;
        this.d = d;
        this.owner = owner;
    }

    public DType dtype() { return dtype; }
    public int length() { return length; }
    public long address() { return address; }
    /** Direct buffer over the whole storage (absolute indexing); null unless F32. */
    public FloatBuffer floatBuffer() { return f; }
    /** Direct buffer over the whole storage (absolute indexing); null unless F64. */
    public DoubleBuffer doubleBuffer() { return d; }
    Object owner() { return owner; }
}
