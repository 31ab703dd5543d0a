package io.lowrank.spark.metrics;

import java.io.Serializable;

/** One step's live numbers, sent by rank 0's executor plugin to the driver plugin (Spark RPC, Java-serialised, a few numbers). */
public record StepUpdate(long step, double loss, double tokensPerSecond, double allReduceBusGbPerS) implements Serializable {
    private static final long serialVersionUID = 1L;
}
