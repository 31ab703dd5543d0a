package io.lowrank.worker.comm;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * N participants of an all-reduce inside one JVM (one thread each), for unit tests of the trainer.
 *
 * <p>It reduces with exactly the chunking and summation order of {@link AeronRingAllReduce} (see
 * {@link RingSchedule}), so for the same inputs both give bitwise identical floats. Per bucket: every participant
 * posts its region; each rank {@code r} then folds chunk {@code (r + 1) mod p} over all ranks in ring order into its
 * own buffer (the chunk the ring's reduce-scatter leaves on rank {@code r}); after a second barrier every rank copies
 * the other chunks from their owners (the all-gather). A third barrier holds every rank's bucket incomplete until all
 * ranks have copied: the regions are shared memory here, and a trainer that got its bucket back goes on to write it
 * (gradient clipping scales it in place) while a slower rank may still be reading it.
 *
 * <pre>
 *   InProcessAllReduce.Group group = new InProcessAllReduce.Group(4);
 *   AllReduce rank0 = group.join(0); // one per trainer thread
 * </pre>
 */
public final class InProcessAllReduce extends AbstractBucketAllReduce
{
    /**
     * The shared state of one in-process all-reduce: the participants' regions and their progress.
     */
    public static final class Group
    {
        /** Default time a participant waits for the others before failing. */
        public static final long DEFAULT_PEER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

        private final int worldSize;
        private final long peerTimeoutNs;
        private final int maxBucketsInFlight;
        /** Per rank: 2k+1 once bucket k is posted, 2k+2 once its chunk of bucket k is reduced. */
        private final AtomicLongArray phaseByRank;
        /** [sequence parity][rank]: written before the phase is published, read after it was observed. */
        private final long[][] addressByParityAndRank;
        private final int[][] lengthByParityAndRank;
        private final boolean[] joined;

        public Group(final int worldSize)
        {
            this(worldSize, DEFAULT_PEER_TIMEOUT_NS, 64);
        }

        /**
         * @param worldSize          number of participants.
         * @param peerTimeoutNs      how long a participant waits for the others before failing.
         * @param maxBucketsInFlight buckets a participant may queue before {@code submit} waits.
         */
        public Group(final int worldSize, final long peerTimeoutNs, final int maxBucketsInFlight)
        {
            if (worldSize < 1)
            {
                throw new IllegalArgumentException("worldSize must be >= 1: " + worldSize);
            }
            if (peerTimeoutNs <= 0)
            {
                throw new IllegalArgumentException("peerTimeoutNs must be > 0: " + peerTimeoutNs);
            }
            this.worldSize = worldSize;
            this.peerTimeoutNs = peerTimeoutNs;
            this.maxBucketsInFlight = maxBucketsInFlight;
            this.phaseByRank = new AtomicLongArray(worldSize);
            this.addressByParityAndRank = new long[2][worldSize];
            this.lengthByParityAndRank = new int[2][worldSize];
            this.joined = new boolean[worldSize];
        }

        /**
         * @return the participant for {@code rank}; each rank may join once.
         */
        public synchronized InProcessAllReduce join(final int rank)
        {
            if (rank < 0 || rank >= worldSize)
            {
                throw new IllegalArgumentException("rank must be in [0, " + worldSize + "): " + rank);
            }
            if (joined[rank])
            {
                throw new IllegalStateException("rank " + rank + " already joined this group");
            }
            joined[rank] = true;
            return new InProcessAllReduce(this, rank);
        }

        /**
         * @return participants for all ranks, in rank order.
         */
        public List<InProcessAllReduce> joinAll()
        {
            final List<InProcessAllReduce> participants = new ArrayList<>(worldSize);
            for (int rank = 0; rank < worldSize; rank++)
            {
                participants.add(join(rank));
            }
            return participants;
        }

        public int worldSize()
        {
            return worldSize;
        }
    }

    private static final int WAIT_FOR_POSTS = 1;
    private static final int WAIT_FOR_REDUCED_CHUNKS = 2;
    private static final int WAIT_FOR_GATHERS = 3;
    private static final int DONE = 4;
    private static final int PHASES = 3;

    private final Group group;
    private int state = DONE;
    private long bucketSequence;
    private long waitStartNs;

    private InProcessAllReduce(final Group group, final int rank)
    {
        super(rank, group.worldSize, group.maxBucketsInFlight, newIdleStrategy());
        this.group = group;
        startAgent(newIdleStrategy());
    }

    private static IdleStrategy newIdleStrategy()
    {
        return new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
    }

    @Override
    void onBucketStart(final BucketHandle bucket)
    {
        final int parity = (int)(bucket.sequence & 1);
        bucketSequence = bucket.sequence;
        group.addressByParityAndRank[parity][rank()] = bucket.address;
        group.lengthByParityAndRank[parity][rank()] = bucket.length;
        group.phaseByRank.set(rank(), PHASES * bucket.sequence + 1);
        state = WAIT_FOR_POSTS;
        waitStartNs = System.nanoTime();
    }

    @Override
    int doBucketWork(final BucketHandle bucket)
    {
        if (WAIT_FOR_POSTS == state)
        {
            if (!allReached(PHASES * bucketSequence + 1, "submitted"))
            {
                return 0;
            }
            checkLengths(bucket);
            reduceOwnChunk(bucket);
            group.phaseByRank.set(rank(), PHASES * bucketSequence + 2);
            state = WAIT_FOR_REDUCED_CHUNKS;
            waitStartNs = System.nanoTime();
            return 1;
        }
        if (WAIT_FOR_REDUCED_CHUNKS == state)
        {
            if (!allReached(PHASES * bucketSequence + 2, "reduced its chunk of"))
            {
                return 0;
            }
            gatherOtherChunks(bucket);
            group.phaseByRank.set(rank(), PHASES * bucketSequence + 3);
            state = WAIT_FOR_GATHERS;
            waitStartNs = System.nanoTime();
            return 1;
        }
        if (WAIT_FOR_GATHERS == state)
        {
            if (!allReached(PHASES * bucketSequence + 3, "copied the reduced chunks of"))
            {
                return 0;
            }
            state = DONE;
            return 1;
        }
        return 0;
    }

    @Override
    boolean isBucketComplete()
    {
        return DONE == state;
    }

    @Override
    void closeResources()
    {
    }

    private boolean allReached(final long phase, final String what)
    {
        final AtomicLongArray phaseByRank = group.phaseByRank;
        for (int r = 0, size = worldSize(); r < size; r++)
        {
            if (phaseByRank.get(r) < phase)
            {
                if (System.nanoTime() - waitStartNs > group.peerTimeoutNs)
                {
                    throw new AllReduceException(describeSelf() + ": in-process rank " + r + " has not " + what +
                        " bucket " + bucketSequence + " within " + TimeUnit.NANOSECONDS.toMillis(group.peerTimeoutNs) +
                        " ms: every participant must submit the same buckets in the same order, and none may stop " +
                        "(was rank " + r + " closed or did its thread fail?)");
                }
                return false;
            }
        }
        return true;
    }

    private void checkLengths(final BucketHandle bucket)
    {
        final int[] lengthByRank = group.lengthByParityAndRank[(int)(bucketSequence & 1)];
        for (int r = 0, size = worldSize(); r < size; r++)
        {
            if (lengthByRank[r] != bucket.length)
            {
                throw new AllReduceException(describeSelf() + ": bucket " + bucketSequence + " has " +
                    bucket.length + " elements here but " + lengthByRank[r] + " on rank " + r +
                    ": every rank must submit buckets of the same lengths in the same order");
            }
        }
    }

    /**
     * Folds chunk {@code (rank + 1) mod p} in ring order: {@code x[c] + x[c+1] + ... + x[c+p-1]}, where the last
     * term is this rank's own value (read before the sum overwrites it).
     */
    private void reduceOwnChunk(final BucketHandle bucket)
    {
        final int p = worldSize();
        final long[] addressByRank = group.addressByParityAndRank[(int)(bucketSequence & 1)];
        final int chunk = (rank() + 1) % p;
        final int start = RingSchedule.chunkStart(bucket.length, p, chunk);
        final int end = start + RingSchedule.chunkLength(bucket.length, p, chunk);
        final long ownAddress = bucket.address;
        for (int i = start; i < end; i++)
        {
            final long byteOffset = (long)i * Float.BYTES;
            float sum = UnsafeApi.getFloat(addressByRank[chunk] + byteOffset);
            for (int k = 1; k < p; k++)
            {
                sum += UnsafeApi.getFloat(addressByRank[(chunk + k) % p] + byteOffset);
            }
            UnsafeApi.putFloat(ownAddress + byteOffset, sum);
        }
    }

    private void gatherOtherChunks(final BucketHandle bucket)
    {
        final int p = worldSize();
        final long[] addressByRank = group.addressByParityAndRank[(int)(bucketSequence & 1)];
        for (int chunk = 0; chunk < p; chunk++)
        {
            final int owner = Math.floorMod(chunk - 1, p);
            if (owner == rank())
            {
                continue;
            }
            final long start = RingSchedule.chunkStart(bucket.length, p, chunk);
            final long bytes = (long)RingSchedule.chunkLength(bucket.length, p, chunk) * Float.BYTES;
            if (bytes > 0)
            {
                UnsafeApi.copyMemory(
                    addressByRank[owner] + start * Float.BYTES, bucket.address + start * Float.BYTES, bytes);
            }
        }
    }
}
