package io.lowrank.worker.comm;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.IdleStrategy;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The bucket queue shared by the implementations: the trainer thread submits buckets into a fixed ring of pooled
 * {@link BucketHandle}s, one communication thread (an Agrona {@link Agent}) reduces them strictly in submission order.
 *
 * <p>Single producer (the trainer thread), single consumer (the agent): the producer fills a slot and then publishes
 * its sequence with a volatile write; the agent publishes completion the same way. No locks, no allocation after
 * construction.
 */
abstract class AbstractBucketAllReduce implements AllReduce, Agent
{
    private final int rank;
    private final int worldSize;
    private final BucketHandle[] slots;
    private final int slotMask;
    private final IdleStrategy callerIdleStrategy;
    private AgentRunner agentRunner;

    /** Written by the trainer thread only. */
    private long nextSubmitSequence;
    /** The last sequence the trainer has submitted; read by the agent. */
    private volatile long submittedSequence = -1;
    /** The last sequence the agent has completed; read by the trainer. */
    private volatile long completedSequence = -1;
    private volatile AllReduceException failure;
    private volatile boolean closed;

    /** Agent thread state. */
    private BucketHandle activeBucket;

    AbstractBucketAllReduce(
        final int rank, final int worldSize, final int maxBucketsInFlight, final IdleStrategy callerIdleStrategy)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
        {
            throw new IllegalArgumentException("rank must be in [0, worldSize): rank=" + rank + " worldSize=" + worldSize);
        }
        if (maxBucketsInFlight < 1)
        {
            throw new IllegalArgumentException("maxBucketsInFlight must be >= 1: " + maxBucketsInFlight);
        }
        this.rank = rank;
        this.worldSize = worldSize;
        final int capacity = BitUtil.findNextPositivePowerOfTwo(maxBucketsInFlight);
        this.slots = new BucketHandle[capacity];
        for (int i = 0; i < capacity; i++)
        {
            slots[i] = new BucketHandle();
        }
        this.slotMask = capacity - 1;
        this.callerIdleStrategy = callerIdleStrategy;
    }

    /**
     * Starts the communication thread; call once at the end of the subclass constructor.
     */
    final void startAgent(final IdleStrategy agentIdleStrategy)
    {
        agentRunner = new AgentRunner(agentIdleStrategy, this::onAgentError, null, this);
        AgentRunner.startOnThread(agentRunner, runnable ->
        {
            final Thread thread = new Thread(runnable);
            thread.setDaemon(true);
            return thread;
        });
    }

    @Override
    public final int rank()
    {
        return rank;
    }

    @Override
    public final int worldSize()
    {
        return worldSize;
    }

    @Override
    public final void allReduceSum(final FloatBuffer data, final int offset, final int length)
    {
        await(submit(data, offset, length));
    }

    @Override
    public final BucketHandle submit(final FloatBuffer data, final int offset, final int length)
    {
        throwIfFailed();
        validateRegion(data, offset, length);

        final long sequence = nextSubmitSequence;
        final BucketHandle bucket = slots[(int)sequence & slotMask];
        final long mustHaveCompleted = sequence - slots.length;
        if (completedSequence < mustHaveCompleted)
        {
            final IdleStrategy idle = callerIdleStrategy;
            idle.reset();
            while (completedSequence < mustHaveCompleted)
            {
                throwIfFailed();
                idle.idle();
            }
        }

        bucket.sequence = sequence;
        bucket.data = data;
        bucket.address = UnsafeApi.getLong(data, BufferUtil.BYTE_BUFFER_ADDRESS_FIELD_OFFSET) + (long)offset * Float.BYTES;
        bucket.offset = offset;
        bucket.length = length;
        nextSubmitSequence = sequence + 1;
        submittedSequence = sequence;

        return bucket;
    }

    @Override
    public final void await(final BucketHandle bucket)
    {
        awaitSequence(bucket.sequence);
    }

    @Override
    public final void awaitAll()
    {
        awaitSequence(nextSubmitSequence - 1);
    }

    private void awaitSequence(final long sequence)
    {
        if (completedSequence >= sequence)
        {
            return;
        }
        final IdleStrategy idle = callerIdleStrategy;
        idle.reset();
        while (completedSequence < sequence)
        {
            throwIfFailed();
            idle.idle();
        }
    }

    private void throwIfFailed()
    {
        final AllReduceException failure = this.failure;
        if (null != failure)
        {
            throw new AllReduceException(failure.getMessage(), failure);
        }
    }

    /**
     * @return the failure that made this all-reduce unusable, or null.
     */
    public final AllReduceException failure()
    {
        return failure;
    }

    @Override
    public final void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        CloseHelper.quietClose(agentRunner);
        if (null == failure)
        {
            failure = new AllReduceException(describeSelf() + " was closed: create a new all-reduce to continue");
        }
        closeResources();
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Agent (communication thread)
    // ----------------------------------------------------------------------------------------------------------------

    @Override
    public final int doWork()
    {
        if (null != failure)
        {
            return 0;
        }

        try
        {
            if (null == activeBucket)
            {
                final long next = completedSequence + 1;
                if (next > submittedSequence)
                {
                    return doIdleWork();
                }
                activeBucket = slots[(int)next & slotMask];
                onBucketStart(activeBucket);
            }

            final int workCount = doBucketWork(activeBucket);
            if (isBucketComplete())
            {
                final BucketHandle done = activeBucket;
                activeBucket = null;
                done.data = null;
                completedSequence = done.sequence;
                return workCount + 1;
            }
            return workCount;
        }
        catch (final AllReduceException ex)
        {
            failure = ex;
            return 0;
        }
        catch (final Throwable ex)
        {
            failure = new AllReduceException(describeSelf() + ": internal error on the communication thread: " + ex, ex);
            return 0;
        }
    }

    private void onAgentError(final Throwable ex)
    {
        if (null == failure)
        {
            failure = new AllReduceException(describeSelf() + ": communication thread failed: " + ex, ex);
        }
    }

    @Override
    public String roleName()
    {
        return "lowrank-allreduce-rank-" + rank;
    }

    /**
     * Called on the agent thread when a bucket becomes active.
     */
    abstract void onBucketStart(BucketHandle bucket);

    /**
     * One duty cycle on the active bucket; throws {@link AllReduceException} on failure.
     *
     * @return the amount of work done, 0 when it had to wait.
     */
    abstract int doBucketWork(BucketHandle bucket);

    /**
     * @return true once the active bucket is fully reduced on this rank.
     */
    abstract boolean isBucketComplete();

    /**
     * Work done while no bucket is queued (e.g. draining and rejecting foreign frames).
     */
    int doIdleWork()
    {
        return 0;
    }

    /**
     * Releases transport resources; called once after the agent thread stopped.
     */
    abstract void closeResources();

    /**
     * @return e.g. "AeronRingAllReduce rank 1/3" for messages.
     */
    String describeSelf()
    {
        return getClass().getSimpleName() + " rank " + rank + "/" + worldSize;
    }

    private void validateRegion(final FloatBuffer data, final int offset, final int length)
    {
        if (null == data)
        {
            throw new IllegalArgumentException("data must not be null");
        }
        if (!data.isDirect())
        {
            throw new IllegalArgumentException(
                "all-reduce needs a direct (off-heap) FloatBuffer, got a heap buffer: allocate it with " +
                "ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer() or pass ND4J's " +
                "DataBuffer.asNioFloat()");
        }
        if (data.order() != ByteOrder.nativeOrder())
        {
            throw new IllegalArgumentException(
                "all-reduce needs a FloatBuffer in native byte order (" + ByteOrder.nativeOrder() + "), got " +
                data.order() + ": create the view with byteBuffer.order(ByteOrder.nativeOrder()).asFloatBuffer()");
        }
        if (data.isReadOnly())
        {
            throw new IllegalArgumentException("all-reduce writes its result in place: the FloatBuffer is read-only");
        }
        if (offset < 0 || length < 0 || (long)offset + length > data.capacity())
        {
            throw new IndexOutOfBoundsException(
                "region [" + offset + ", " + ((long)offset + length) + ") is outside the buffer's capacity " +
                data.capacity());
        }
        if (length > Integer.MAX_VALUE / Float.BYTES)
        {
            throw new IllegalArgumentException(
                "bucket of " + length + " floats exceeds 2 GiB: submit it as several buckets (25-128 MB each)");
        }
    }
}
