package io.lowrank.worker.comm;

import java.nio.FloatBuffer;

/**
 * A bucket submitted to an {@link AllReduce}. Handles are pooled by their all-reduce (a steady-state step allocates
 * nothing): a handle is recycled for a new bucket after {@code maxBucketsInFlight} newer submissions.
 */
public final class BucketHandle
{
    long sequence = -1;
    FloatBuffer data;
    long address;
    int offset;
    int length;

    BucketHandle()
    {
    }

    /**
     * @return the bucket's sequence number: 0 for the first bucket an all-reduce reduced, then 1, 2, ...
     */
    public long sequence()
    {
        return sequence;
    }

    /**
     * @return the first element of the region.
     */
    public int offset()
    {
        return offset;
    }

    /**
     * @return the number of elements of the region.
     */
    public int length()
    {
        return length;
    }

    @Override
    public String toString()
    {
        return "BucketHandle{sequence=" + sequence + ", offset=" + offset + ", length=" + length + '}';
    }
}
