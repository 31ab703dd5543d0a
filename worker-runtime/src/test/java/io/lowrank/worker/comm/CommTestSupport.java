package io.lowrank.worker.comm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Inputs, references and helpers shared by the comm tests.
 */
final class CommTestSupport
{
    private CommTestSupport()
    {
    }

    static FloatBuffer directFloats(final int length)
    {
        return ByteBuffer.allocateDirect(Math.max(1, length) * Float.BYTES).order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    }

    /**
     * @return per rank a direct buffer of {@code capacity} random floats in [-1, 1) (or small integers).
     */
    static FloatBuffer[] randomInputs(
        final int worldSize, final int capacity, final long seed, final boolean smallIntegers)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final FloatBuffer[] inputs = new FloatBuffer[worldSize];
        for (int r = 0; r < worldSize; r++)
        {
            inputs[r] = directFloats(capacity);
            for (int i = 0; i < capacity; i++)
            {
                inputs[r].put(i, smallIntegers ? random.nextInt(-1000, 1000) : (float)(random.nextDouble() * 2 - 1));
            }
        }
        return inputs;
    }

    static FloatBuffer[] copies(final FloatBuffer[] buffers)
    {
        final FloatBuffer[] copies = new FloatBuffer[buffers.length];
        for (int r = 0; r < buffers.length; r++)
        {
            copies[r] = directFloats(buffers[r].capacity());
            for (int i = 0; i < buffers[r].capacity(); i++)
            {
                copies[r].put(i, buffers[r].get(i));
            }
        }
        return copies;
    }

    /**
     * The ring's float32 fold of element {@code i} of a bucket of {@code length} (see {@link RingSchedule}).
     */
    static float ringOrderSum(final FloatBuffer[] inputs, final int offset, final int length, final int i)
    {
        final int p = inputs.length;
        int chunk = 0;
        while (chunk + 1 < p && RingSchedule.chunkStart(length, p, chunk + 1) <= i)
        {
            chunk++;
        }
        float sum = inputs[chunk].get(offset + i);
        for (int k = 1; k < p; k++)
        {
            sum += inputs[(chunk + k) % p].get(offset + i);
        }
        return sum;
    }

    static double doubleSum(final FloatBuffer[] inputs, final int index)
    {
        double sum = 0;
        for (final FloatBuffer input : inputs)
        {
            sum += input.get(index);
        }
        return sum;
    }

    /**
     * @return {@code count} distinct free UDP ports on loopback.
     */
    static List<String> loopbackEndpoints(final int count)
    {
        try
        {
            return AllReduceBench.freeLoopbackEndpoints(count);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    interface RankAction
    {
        void run(int rank) throws Exception;
    }

    /**
     * Runs {@code action} for every rank on its own thread and returns each rank's failure (null if it succeeded).
     */
    static Throwable[] runRanks(final int worldSize, final long timeoutSeconds, final RankAction action)
        throws InterruptedException
    {
        final ExecutorService executor = Executors.newFixedThreadPool(worldSize);
        try
        {
            final List<Future<?>> futures = new ArrayList<>();
            for (int r = 0; r < worldSize; r++)
            {
                final int rank = r;
                futures.add(executor.submit(() ->
                {
                    action.run(rank);
                    return null;
                }));
            }
            final Throwable[] failures = new Throwable[worldSize];
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            for (int r = 0; r < worldSize; r++)
            {
                try
                {
                    futures.get(r).get(Math.max(1, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
                }
                catch (final ExecutionException ex)
                {
                    failures[r] = ex.getCause();
                }
                catch (final TimeoutException ex)
                {
                    throw new AssertionError("rank " + r + " did not finish within " + timeoutSeconds + " s");
                }
            }
            return failures;
        }
        finally
        {
            executor.shutdownNow();
        }
    }

    static void assertNoFailures(final Throwable[] failures)
    {
        for (int r = 0; r < failures.length; r++)
        {
            if (null != failures[r])
            {
                throw new AssertionError("rank " + r + " failed: " + failures[r], failures[r]);
            }
        }
    }
}
