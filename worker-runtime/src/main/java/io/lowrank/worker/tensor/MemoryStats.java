package io.lowrank.worker.tensor;

/** Bytes handed out by a backend's allocator: what is live now and the high-water mark. */
public final class MemoryStats {
    private long liveBytes;
    private long peakBytes;
    private long allocations;

    /** Counts an allocation (backends outside this package call it too). */
    public void allocated(long bytes) {
        liveBytes += bytes;
        allocations++;
        if (liveBytes > peakBytes) peakBytes = liveBytes;
    }

    /** Counts a release. */
    public void released(long bytes) { liveBytes -= bytes; }

    public long liveBytes() { return liveBytes; }
    public long peakBytes() { return peakBytes; }
    /** Number of allocations so far: a steady-state training step must not change it. */
    public long allocations() { return allocations; }
    public void resetPeak() { peakBytes = liveBytes; }
}
