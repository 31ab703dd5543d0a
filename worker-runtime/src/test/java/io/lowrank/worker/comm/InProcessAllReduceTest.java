package io.lowrank.worker.comm;

import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.lowrank.worker.comm.CommTestSupport.assertNoFailures;
import static io.lowrank.worker.comm.CommTestSupport.copies;
import static io.lowrank.worker.comm.CommTestSupport.directFloats;
import static io.lowrank.worker.comm.CommTestSupport.doubleSum;
import static io.lowrank.worker.comm.CommTestSupport.randomInputs;
import static io.lowrank.worker.comm.CommTestSupport.ringOrderSum;
import static io.lowrank.worker.comm.CommTestSupport.runRanks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InProcessAllReduceTest
{
    private static final int[] WORLD_SIZES = {1, 2, 3, 4, 5};

    @Test
    void integerInputsSumExactlyToTheDoublePrecisionReference() throws Exception
    {
        final long seed = System.nanoTime();
        for (final int p : WORLD_SIZES)
        {
            for (final int length : new int[] {0, 1, 2, p - 1, p + 1, 7, 1001, 10_007})
            {
                final FloatBuffer[] data = randomInputs(p, Math.max(length, 1), seed + 31L * length + p, true);
                final FloatBuffer[] inputs = copies(data);
                reduce(p, data, 0, length);
                for (int r = 0; r < p; r++)
                {
                    for (int i = 0; i < length; i++)
                    {
                        assertEquals(doubleSum(inputs, i), data[r].get(i), 0.0,
                            "p=" + p + " length=" + length + " rank=" + r + " i=" + i + " seed=" + seed);
                    }
                }
            }
        }
    }

    @Test
    void realInputsFollowTheRingSummationOrderAndMatchTheDoubleReference() throws Exception
    {
        final long seed = System.nanoTime();
        for (final int p : WORLD_SIZES)
        {
            for (final int length : new int[] {1, p - 1, 13, 4099})
            {
                final int offset = 3;
                final int capacity = offset + Math.max(length, 1) + 5;
                final FloatBuffer[] data = randomInputs(p, capacity, seed ^ (p * 1_000_003L + length), false);
                final FloatBuffer[] inputs = copies(data);
                reduce(p, data, offset, length);
                for (int r = 0; r < p; r++)
                {
                    for (int i = 0; i < length; i++)
                    {
                        final float expected = ringOrderSum(inputs, offset, length, i);
                        final float actual = data[r].get(offset + i);
                        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                            "p=" + p + " length=" + length + " rank=" + r + " i=" + i + " seed=" + seed);
                        assertEquals(doubleSum(inputs, offset + i), actual, 1e-6 * p);
                    }
                    for (int i = 0; i < offset; i++)
                    {
                        assertEquals(inputs[r].get(i), data[r].get(i), "element before the region was touched");
                    }
                    for (int i = offset + length; i < capacity; i++)
                    {
                        assertEquals(inputs[r].get(i), data[r].get(i), "element after the region was touched");
                    }
                }
            }
        }
    }

    @Test
    void bucketsInFlightCompleteInOrderWithTheSameResultAsOneByOne() throws Exception
    {
        final int p = 3;
        final int[] bucketLengths = {5, 1, 2000, 0, 2, 777, 3};
        int total = 0;
        for (final int length : bucketLengths)
        {
            total += length;
        }
        final FloatBuffer[] data = randomInputs(p, total, System.nanoTime(), false);
        final FloatBuffer[] inputs = copies(data);
        final List<InProcessAllReduce> ranks = new InProcessAllReduce.Group(p).joinAll();
        try
        {
            assertNoFailures(runRanks(p, 30, rank ->
            {
                final AllReduce allReduce = ranks.get(rank);
                final BucketHandle[] handles = new BucketHandle[bucketLengths.length];
                int offset = 0;
                for (int b = 0; b < bucketLengths.length; b++)
                {
                    handles[b] = allReduce.submit(data[rank], offset, bucketLengths[b]);
                    offset += bucketLengths[b];
                }
                allReduce.await(handles[2]);
                allReduce.awaitAll();
                for (int b = 0; b < handles.length; b++)
                {
                    assertEquals(b, handles[b].sequence());
                }
            }));
        }
        finally
        {
            ranks.forEach(InProcessAllReduce::close);
        }

        int offset = 0;
        for (final int length : bucketLengths)
        {
            for (int r = 0; r < p; r++)
            {
                for (int i = 0; i < length; i++)
                {
                    final float expected = ringOrderSum(sliceOf(inputs, offset), 0, length, i);
                    assertEquals(expected, data[r].get(offset + i));
                }
            }
            offset += length;
        }
    }

    @Test
    void aMissingParticipantFailsTheOthersWithinTheTimeoutNamingIt() throws Exception
    {
        final int p = 3;
        final long timeoutMs = 500;
        final InProcessAllReduce.Group group =
            new InProcessAllReduce.Group(p, TimeUnit.MILLISECONDS.toNanos(timeoutMs), 4);
        final InProcessAllReduce rank0 = group.join(0);
        final InProcessAllReduce rank1 = group.join(1);
        final FloatBuffer[] data = randomInputs(p, 10, 1, false);
        try
        {
            final long startNs = System.nanoTime();
            final Throwable[] failures = runRanks(2, 30, rank -> (0 == rank ? rank0 : rank1).allReduceSum(data[rank], 0, 10));
            final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            for (final Throwable failure : failures)
            {
                assertNotNull(failure);
                assertTrue(failure instanceof AllReduceException, failure.toString());
                assertTrue(failure.getMessage().contains("rank 2"), failure.getMessage());
            }
            assertTrue(elapsedMs < timeoutMs + 5_000, "took " + elapsedMs + " ms");
            assertThrows(AllReduceException.class, () -> rank0.submit(data[0], 0, 10), "failure must be sticky");
        }
        finally
        {
            rank0.close();
            rank1.close();
        }
    }

    @Test
    void mismatchedBucketLengthsFailOnEveryRank() throws Exception
    {
        final List<InProcessAllReduce> ranks = new InProcessAllReduce.Group(2).joinAll();
        final FloatBuffer[] data = randomInputs(2, 10, 2, false);
        try
        {
            final Throwable[] failures = runRanks(2, 30, rank -> ranks.get(rank).allReduceSum(data[rank], 0, 9 + rank));
            for (final Throwable failure : failures)
            {
                assertTrue(failure instanceof AllReduceException, String.valueOf(failure));
                assertTrue(failure.getMessage().contains("same lengths"), failure.getMessage());
            }
        }
        finally
        {
            ranks.forEach(InProcessAllReduce::close);
        }
    }

    @Test
    void heapBuffersAreRejectedWithHowToFix()
    {
        final List<InProcessAllReduce> ranks = new InProcessAllReduce.Group(1).joinAll();
        try
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> ranks.get(0).allReduceSum(FloatBuffer.allocate(4), 0, 4));
            assertTrue(ex.getMessage().contains("allocateDirect"), ex.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> ranks.get(0).submit(directFloats(4), 2, 3));
        }
        finally
        {
            ranks.forEach(InProcessAllReduce::close);
        }
    }

    static void reduce(final int p, final FloatBuffer[] data, final int offset, final int length) throws Exception
    {
        final List<InProcessAllReduce> ranks = new InProcessAllReduce.Group(p).joinAll();
        try
        {
            assertNoFailures(runRanks(p, 60, rank -> ranks.get(rank).allReduceSum(data[rank], offset, length)));
        }
        finally
        {
            ranks.forEach(InProcessAllReduce::close);
        }
    }

    private static FloatBuffer[] sliceOf(final FloatBuffer[] buffers, final int offset)
    {
        final FloatBuffer[] slices = new FloatBuffer[buffers.length];
        for (int r = 0; r < buffers.length; r++)
        {
            slices[r] = buffers[r].duplicate().position(offset).slice();
        }
        return slices;
    }
}
