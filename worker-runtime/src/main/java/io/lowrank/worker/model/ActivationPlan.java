package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * Where a layer's activations live, which is what a recompute policy changes. A tensor the backward
 * pass reads is either <em>saved</em> (one per layer, held from forward to backward) or
 * <em>recomputed</em>: then all layers share one buffer, which the forward pass overwrites layer by
 * layer and the backward pass refills for the layer it is working on. Without recompute every
 * tensor is saved. The plan counts bytes of both kinds, from the allocator's sizes.
 */
final class ActivationPlan {
    private final Backend be;
    private final boolean recompute;
    private final boolean forwardOnly;
    private int savedOrdinal;          // forward-only: the how-manieth saved() request of the current layer
    private final Map<String, Tensor> shared = new HashMap<>();
    private final Map<String, Backend.Sparse24> shared24 = new HashMap<>();
    private long savedBytes, sharedBytes;
    private long recomputeFlops;   // gemm FLOPs spent rebuilding activations in the current/last backward

    ActivationPlan(Backend be, boolean recompute) {
        this(be, recompute, false);
    }

    private ActivationPlan(Backend be, boolean recompute, boolean forwardOnly) {
        this.be = be;
        this.recompute = recompute;
        this.forwardOnly = forwardOnly;
    }

    /**
     * A plan for inference: no backward pass follows, so nothing is kept from one layer to the
     * next: every buffer, the per-layer "saved" ones included, is shared by all layers (the n-th
     * saved() request of a layer gets the same buffer in every layer; see {@link #startLayer}).
     * It reports {@link #recomputes()} true so that CR-Net runs its chain in place (one buffer per
     * kind: the same operations in the same order as both training schedules, see CrNetProjection).
     */
    static ActivationPlan forwardOnly(Backend be) {
        return new ActivationPlan(be, true, true);
    }

    boolean recomputes() { return recompute; }

    boolean isForwardOnly() { return forwardOnly; }

    /** Forward-only plans: the blocks of the next layer are about to be built (saved() requests restart at 0). */
    void startLayer() { savedOrdinal = 0; }

    /** A tensor kept per layer from forward to backward (forward-only plans: shared by the layers). */
    Tensor saved(int... shape) {
        if (forwardOnly) return work("saved#" + (savedOrdinal++) + java.util.Arrays.toString(shape), shape);
        Tensor t = be.allocate(shape);
        savedBytes += (long) t.size * t.dtype.bytes;
        return t;
    }

    /** A tensor the policy may recompute: shared across layers under recompute, else saved. */
    Tensor work(String name, int... shape) {
        if (!recompute) return saved(shape);
        Tensor t = shared.get(name);
        if (t == null) {
            t = be.allocate(shape);
            sharedBytes += (long) t.size * t.dtype.bytes;
            shared.put(name, t);
        } else if (t.size != sizeOf(shape)) {
            throw new IllegalStateException("shared activation '" + name + "' requested with two shapes");
        }
        return t;
    }

    /**
     * A 2:4 compressed matrix that a layer writes and reads within one forward or one backward
     * step (the backward re-derives it): one per model, shared by all layers under every policy,
     * allocated on first request. Its bytes (values, tail and metadata) count as shared.
     */
    Backend.Sparse24 sharedSparse24(String name, int rows, int cols) {
        Backend.Sparse24 s = shared24.get(name);
        if (s == null) {
            s = be.allocateSparse24(rows, cols);
            sharedBytes += s.bytes();
            shared24.put(name, s);
        } else if (s.rows != rows || s.cols != cols) {
            throw new IllegalStateException("shared 2:4 activation '" + name + "' requested with two shapes");
        }
        return s;
    }

    private static long sizeOf(int[] shape) {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** Called when a backward pass starts: the recompute FLOP count is per backward. */
    void startBackward() { recomputeFlops = 0; }

    /** Adds gemm FLOPs that rebuilt activations instead of computing gradients. */
    void countRecompute(long flops) { recomputeFlops += flops; }

    /** Gemm FLOPs the last backward pass spent recomputing activations (0 without recompute). */
    long recomputeFlops() { return recomputeFlops; }

    long savedBytes() { return savedBytes; }
    long sharedBytes() { return sharedBytes; }
}
