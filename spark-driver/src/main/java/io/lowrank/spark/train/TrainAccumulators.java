package io.lowrank.spark.train;

import org.apache.spark.SparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;

/**
 * Named accumulators of a training run: they appear on the Spark UI's stage page and in the REST
 * API ({@code /api/v1/applications/{id}/stages}) as each chunk's tasks finish.
 */
public final class TrainAccumulators implements Serializable {
    private static final long serialVersionUID = 1L;

    public final LongAccumulator steps;
    public final LongAccumulator tokens;
    public final DoubleAccumulator lossSum;
    public final LongAccumulator allReduceBytes;
    public final LongAccumulator allReduceExposedMs;
    /** optimizer steps skipped on every worker for a non-finite gradient norm or loss (counted once, by rank 0) */
    public final LongAccumulator skippedSteps;

    public TrainAccumulators(SparkContext sc) {
        steps = sc.longAccumulator("lowrank.steps");
        tokens = sc.longAccumulator("lowrank.tokens");
        lossSum = sc.doubleAccumulator("lowrank.loss_sum");
        allReduceBytes = sc.longAccumulator("lowrank.allreduce_bytes");
        allReduceExposedMs = sc.longAccumulator("lowrank.allreduce_exposed_ms");
        skippedSteps = sc.longAccumulator("lowrank.skipped_steps");
    }
}
