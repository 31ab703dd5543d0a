package io.lowrank.spark.chaos;

import java.util.Random;

/**
 * When to kill what, from one seed: executor kills at uniformly random intervals in
 * [minIntervalS, maxIntervalS], the one driver kill at a uniformly random fraction in
 * [driverFromFraction, driverToFraction] of the expected run time, and which executor each kill
 * takes. The same seed gives the same intervals and choices; the moments the processes reach
 * differ from run to run (the machine's speed), which is what the log records.
 */
final class KillSchedule {
    private final Random random;
    private final double minIntervalS, maxIntervalS;
    private final long driverKillAtMs;

    KillSchedule(long seed, double minIntervalS, double maxIntervalS, double driverFromFraction, double driverToFraction, double expectedRunS) {
        if (!(minIntervalS > 0) || maxIntervalS < minIntervalS) {
            throw new IllegalArgumentException("executor kill interval " + minIntervalS + ".." + maxIntervalS + " s: need 0 < min <= max");
        }
        if (driverFromFraction < 0 || driverToFraction < driverFromFraction) {
            throw new IllegalArgumentException("driver kill fraction " + driverFromFraction + ".." + driverToFraction + ": need 0 <= from <= to");
        }
        this.random = new Random(seed);
        this.minIntervalS = minIntervalS;
        this.maxIntervalS = maxIntervalS;
        this.driverKillAtMs = (long) (1000 * expectedRunS * (driverFromFraction + random.nextDouble() * (driverToFraction - driverFromFraction)));
    }

    /** Milliseconds after the start of the interrupted run at which the driver is killed. */
    long driverKillAtMs() {
        return driverKillAtMs;
    }

    /** Milliseconds from one executor kill (or the start) to the next. */
    long nextExecutorKillDelayMs() {
        return (long) (1000 * (minIntervalS + random.nextDouble() * (maxIntervalS - minIntervalS)));
    }

    /** Which of {@code n} executors (sorted by executor id) to kill. */
    int pick(int n) {
        return random.nextInt(n);
    }
}
