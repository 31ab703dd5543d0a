package io.lowrank.spark.train;

import io.lowrank.worker.train.NonFiniteStepsException;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * Skipped optimizer steps in a Spark run: a worker that met train.max_skipped_steps non-finite
 * steps in a row ends its chunk early with the report ({@link #stop}); the driver then logs the
 * steps done and stops the run instead of retrying it ({@link #stopIfReported}): every rank decided
 * on the same all-reduced gradient, and a retry from the checkpoint would meet the same numbers.
 */
final class StepSkips {
    private StepSkips() {}

    /** Cuts the chunk report to the {@code done} steps before the stop and records why. */
    static void stop(ChunkReport report, int done, NonFiniteStepsException e, PrintStream log) {
        report.losses = Arrays.copyOf(report.losses, done);
        report.learningRates = Arrays.copyOf(report.learningRates, done);
        report.gradNorms = Arrays.copyOf(report.gradNorms, done);
        report.skipped = Arrays.copyOf(report.skipped, done);
        report.endStep = report.startStep + done;
        report.stopReason = e.getMessage();
        log.println("[rank " + report.rank + "] " + e.getMessage());
    }

    /** The stop report of a chunk, or null when it trained all its steps. */
    static String stopReason(List<ChunkReport> reports) {
        for (ChunkReport r : reports) if (r.stopReason != null) return r.stopReason;
        return null;
    }

    static long count(ChunkReport r0) {
        long n = 0;
        if (r0.skipped != null) for (boolean b : r0.skipped) if (b) n++;
        return n;
    }
}
