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

    /**
     * A storage in memory the JVM cannot address (a GPU's): no host buffers, so {@link Tensor#get}
     * and friends fail on it; host access goes through the owning backend's host transfers.
     */
    public static Storage device(DType dtype, long address, int length, Object owner) {
        return new Storage(dtype, address, length, null, null, owner);
    }

    /** True when the values are in host memory (the buffers exist). */
    public boolean onHost() { return f != null || d != null; }

    /** A tensor of the given shape from element 0 of this storage. */
    public Tensor tensor(int... shape) { return new Tensor(this, 0, shape); }

    public DType dtype() { return dtype; }
    public int length() { return length; }
    public long address() { return address; }
    /** Direct buffer over the whole storage (absolute indexing); null unless F32. */
    public FloatBuffer floatBuffer() { return f; }
    /** Direct buffer over the whole storage (absolute indexing); null unless F64. */
    public DoubleBuffer doubleBuffer() { return d; }
    Object owner() { return owner; }
}
