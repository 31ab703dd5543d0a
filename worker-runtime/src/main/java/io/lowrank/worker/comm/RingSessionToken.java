package io.lowrank.worker.comm;

/**
 * The session token of one attempt of a ring: a run's random token mixed with the chunk and the
 * stage attempt, so that a retried attempt (a new stage attempt of the same chunk) rejects every
 * frame of the attempt that failed, even when it reuses the same hosts and ports
 * ({@link AeronRingAllReduce} drops frames whose token differs, before reading anything else).
 * One definition for the driver's chunks and the tests that replay a retry.
 */
public final class RingSessionToken
{
    private RingSessionToken()
    {
    }

    /**
     * @param runToken     the run's random 64-bit token
     * @param chunk        chunk index (0-based)
     * @param stageAttempt Spark's stage attempt number (0 for the first attempt)
     * @return the token every rank of that attempt puts in {@link RingConfig.Builder#sessionToken(long)}.
     */
    public static long forAttempt(final long runToken, final int chunk, final int stageAttempt)
    {
        long h = runToken ^ (0x9E3779B97F4A7C15L * (chunk + 1)) ^ (0xC2B2AE3D27D4EB4FL * (stageAttempt + 1));
        h ^= h >>> 31;
        return h * 0xBF58476D1CE4E5B9L;
    }
}
