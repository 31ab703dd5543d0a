package io.lowrank.worker.comm;

import java.nio.FloatBuffer;

/**
 * In-place sum all-reduce over a region of a direct {@link FloatBuffer}, as used for data-parallel gradients.
 *
 * <p>After a reduction of {@code [offset, offset + length)} every rank holds the element-wise sum of that region
 * over all ranks. Every rank must reduce regions of the same lengths in the same order.
 *
 * <p><b>Buffers.</b> The buffer must be direct and in {@link java.nio.ByteOrder#nativeOrder() native order} (the
 * trainer's gradients live in off-heap memory that ND4J allocated). Offsets and lengths are absolute element
 * indices (the buffer's position and limit are ignored; {@code offset + length <= capacity}). While a bucket is in
 * flight the region belongs to the all-reduce: do not read or write it until {@link #await(BucketHandle)} returns,
 * and keep the buffer reachable.
 *
 * <p><b>Ordering and reproducibility.</b> Buckets are reduced one after another in submission order by a single
 * communication thread. Float addition is not associative, so the result depends on the summation order; every
 * implementation uses the fixed order defined by {@link RingSchedule}, so the same inputs give bitwise identical
 * results across runs and across implementations.
 *
 * <p><b>Threads.</b> {@code submit}, {@code await}, {@code awaitAll} and {@code allReduceSum} must be called from one
 * thread (the trainer thread). {@link #close()} may be called from any thread.
 *
 * <p><b>Failure.</b> A failure (a peer that died or went silent, a protocol mismatch) is sticky: the failing call and
 * every later call throws {@link AllReduceException}; the ring must be rebuilt (in Spark: retry the stage from the
 * last checkpoint).
 */
public interface AllReduce extends AutoCloseable
{
    /**
     * Sums {@code data[offset, offset + length)} over all ranks, in place, and returns when done.
     * Equivalent to {@code await(submit(data, offset, length))}.
     *
     * @throws AllReduceException if a peer failed or did not answer within the configured timeout.
     */
    void allReduceSum(FloatBuffer data, int offset, int length);

    /**
     * Queues a bucket for reduction and returns at once (unless {@code maxBucketsInFlight} buckets are already
     * queued, in which case it waits for the oldest to finish). The bucket is reduced after all earlier buckets.
     *
     * @return a handle to {@link #await(BucketHandle)}; handles are pooled and recycled after
     * {@code maxBucketsInFlight} newer submissions, so await a handle before submitting that many more.
     */
    BucketHandle submit(FloatBuffer data, int offset, int length);

    /**
     * Waits until the bucket (and so every bucket submitted before it) has been reduced.
     *
     * @throws AllReduceException if the reduction failed.
     */
    void await(BucketHandle bucket);

    /**
     * Waits until every submitted bucket has been reduced.
     *
     * @throws AllReduceException if a reduction failed.
     */
    void awaitAll();

    /**
     * @return this participant's rank in {@code [0, worldSize)}.
     */
    int rank();

    /**
     * @return the number of participants.
     */
    int worldSize();

    /**
     * Stops the communication thread and releases resources. Buckets still in flight fail.
     */
    @Override
    void close();
}
