package io.lowrank.worker.comm;

/**
 * The fixed partition and summation order shared by every {@link AllReduce} implementation.
 *
 * <p><b>Chunks.</b> A bucket of {@code length} elements is cut into {@code p = worldSize} contiguous chunks; chunk
 * {@code c} has {@code length / p} elements plus one if {@code c < length % p} (so chunks may be empty when
 * {@code length < p}).
 *
 * <p><b>Ring steps.</b> There are {@code 2(p-1)} steps. At step {@code s} rank {@code r} sends chunk
 * {@code (r - s) mod p} to its right neighbour {@code (r + 1) mod p} and receives chunk {@code (r - 1 - s) mod p} from
 * its left neighbour {@code (r - 1) mod p}. Steps {@code 0 .. p-2} are the reduce-scatter (the receiver adds its own
 * values to the partial sum it received, then forwards the result at the next step); steps {@code p-1 .. 2p-3} are the
 * all-gather (the receiver overwrites its chunk with the final sum and forwards it). After the reduce-scatter rank
 * {@code r} holds the final sum of chunk {@code (r + 1) mod p}.
 *
 * <p><b>Summation order.</b> Every element of chunk {@code c} is therefore summed as the left fold
 * <pre>
 *   ((x[c] + x[c+1]) + x[c+2]) + ... + x[c+p-1]      (rank indices mod p, float32 additions)
 * </pre>
 * starting at the rank that owns the chunk's index. Float addition is commutative but not associative, so this order
 * (not the message size, the timing or the number of buckets in flight) fixes the bits of the result; it differs from
 * a sequential sum over ranks 0..p-1 in the last bits, and from a double-precision sum by rounding.
 */
public final class RingSchedule
{
    private RingSchedule()
    {
    }

    /**
     * @return the first element (relative to the bucket) of chunk {@code chunk}.
     */
    public static int chunkStart(final int length, final int worldSize, final int chunk)
    {
        final int base = length / worldSize;
        final int remainder = length % worldSize;
        return chunk * base + Math.min(chunk, remainder);
    }

    /**
     * @return the number of elements of chunk {@code chunk}.
     */
    public static int chunkLength(final int length, final int worldSize, final int chunk)
    {
        return length / worldSize + (chunk < length % worldSize ? 1 : 0);
    }

    /**
     * @return the number of ring steps, {@code 2(p-1)}.
     */
    public static int stepCount(final int worldSize)
    {
        return 2 * (worldSize - 1);
    }

    /**
     * @return the chunk rank {@code rank} sends at step {@code step}: {@code (rank - step) mod p}.
     */
    public static int sendChunk(final int rank, final int worldSize, final int step)
    {
        return Math.floorMod(rank - step, worldSize);
    }

    /**
     * @return the chunk rank {@code rank} receives at step {@code step}: {@code (rank - 1 - step) mod p}.
     */
    public static int receiveChunk(final int rank, final int worldSize, final int step)
    {
        return Math.floorMod(rank - 1 - step, worldSize);
    }

    /**
     * @return true if step {@code step} is a reduce-scatter step (the receiver adds), false for all-gather (copies).
     */
    public static boolean isReduceStep(final int worldSize, final int step)
    {
        return step < worldSize - 1;
    }
}
