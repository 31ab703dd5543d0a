package io.lowrank.worker.train;

import io.lowrank.worker.comm.AllReduce;
import io.lowrank.worker.model.GradientReadyListener;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Tensor;

import java.nio.FloatBuffer;

/**
 * Data-parallel gradient sum, overlapped with the backward pass. The model reports the finished
 * suffix of the flat gradient buffer ({@link GradientReadyListener}); whenever at least one bucket
 * of it is not yet submitted, that piece goes to the {@link AllReduce}, whose communication thread
 * reduces it while the backward pass goes on with the layers below. {@link #finish()} submits the
 * rest and waits. Bucket boundaries depend only on the layout and the bucket size, so every rank
 * submits the same regions in the same order, as the all-reduce requires.
 *
 * <p>Time accounting, per step: {@code exposedNanos} is how long the trainer thread waited in
 * {@link #finish()} (communication not hidden behind compute), {@code commNanos} runs from the
 * first submission to the end of that wait (an upper bound of the time the reduction took).
 */
public final class GradientSync implements GradientReadyListener {
    private final AllReduce allReduce;
    private final FloatBuffer grads;
    private final int base;          // element offset of the gradient tensor in its buffer
    private final int count;
    private final int bucketElements;
    private int unsubmittedEnd;      // [ready, unsubmittedEnd) is final but not yet submitted
    private long firstSubmitNanos;
    private long exposedNanos, commNanos, bytes, buckets;

    public GradientSync(AllReduce allReduce, Tensor grads, double bucketMb) {
        if (grads.dtype != DType.F32) {
            throw new IllegalArgumentException("data-parallel training all-reduces float32 gradients; train.dtype is " + grads.dtype);
        }
        if (!grads.storage().onHost()) {
            throw new IllegalArgumentException("data-parallel training of gradients in GPU memory is not implemented yet"
                    + " (the all-reduce needs pinned host staging buckets); run one worker per job with --backend cuda");
        }
        this.allReduce = allReduce;
        this.grads = grads.storage().floatBuffer();
        this.base = grads.offset();
        this.count = grads.size;
        this.bucketElements = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.round(bucketMb * (1 << 20) / 4)));
        this.unsubmittedEnd = count;
    }

    public int worldSize() { return allReduce.worldSize(); }
    public int rank() { return allReduce.rank(); }

    /** Call before the backward pass whose gradients are to be summed (the last micro-batch). */
    public void begin() {
        unsubmittedEnd = count;
        firstSubmitNanos = 0;
    }

    @Override
    public void gradientsReadyFrom(int offset) {
        if (unsubmittedEnd - offset >= bucketElements) submit(offset, unsubmittedEnd);
    }

    /** Submits what is left, waits for every bucket; afterwards each rank holds the sum. */
    public void finish() {
        if (unsubmittedEnd > 0) submit(0, unsubmittedEnd);
        long t0 = System.nanoTime();
        allReduce.awaitAll();
        long t1 = System.nanoTime();
        exposedNanos += t1 - t0;
        commNanos += t1 - firstSubmitNanos;
    }

    private void submit(int from, int to) {
        if (firstSubmitNanos == 0) firstSubmitNanos = System.nanoTime();
        allReduce.submit(grads, base + from, to - from);
        bytes += 4L * (to - from);
        buckets++;
        unsubmittedEnd = from;
    }

    /**
     * All-reduces the whole gradient buffer in one go with nothing else running and returns the
     * seconds it took: the cost that overlap with the backward pass hides. Collective (every rank
     * must call it); it overwrites the gradients, so call it only after the optimizer step.
     */
    public double timeStandaloneAllReduce() {
        long t0 = System.nanoTime();
        allReduce.allReduceSum(grads, base, count);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Wall time the trainer waited for communication, summed over steps. */
    public long exposedNanos() { return exposedNanos; }
    /** First submission to completion, summed over steps. */
    public long commNanos() { return commNanos; }
    /** Gradient bytes all-reduced, summed over steps. */
    public long bytes() { return bytes; }
    public long buckets() { return buckets; }
}
