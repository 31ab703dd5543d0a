package io.lowrank.spark.train;

/**
 * What one worker tells the driver at the end of a chunk. Travels through Spark's shuffle and
 * result path, so it is serialised by Kryo (registered in {@link io.lowrank.spark.serde.LowrankKryoRegistrator}).
 */
public final class ChunkReport {
    public int rank;
    public long startStep;
    public long endStep;
    /** this worker's mean training loss of each step of the chunk */
    public double[] losses;
    public double[] learningRates;
    public double[] gradNorms;
    /** steps whose update every worker skipped (non-finite all-reduced gradient norm or loss) */
    public boolean[] skipped;
    /**
     * set when train.max_skipped_steps skips in a row stopped the run (every rank stops at the same
     * step): the report, and the arrays above cover only the steps done before it
     */
    public String stopReason;
    /** when each step ended (epoch seconds, this worker's clock) and the all-reduce wait it did not hide (ms) */
    public double[] stepEndTimes;
    public double[] stepExposedMs;
    public long tokens;
    public double seconds;
    /** time spent loading data and the checkpoint (unless the worker was kept) and joining the ring, before the first step */
    public double setupSeconds;
    /** the trainer came from this executor's previous chunk, not from the checkpoint ({@link ResidentWorkers}) */
    public boolean workerReused;
    public long allReduceBytes;
    public long allReduceExposedNanos;
    public long allReduceCommNanos;
    /** one all-reduce of the whole gradient buffer with no compute beside it, after the chunk's steps */
    public double standaloneAllReduceSeconds;
    /** rank 0 only: held-out loss at the chunk's end (NaN when not evaluated) */
    public double valLoss = Double.NaN;
    /** rank 0 only: the checkpoint written at the chunk's end */
    public String checkpoint;
    public String host;
    public int stageAttempt;
    /** the GPU address Spark assigned this worker's task (TaskContext.resources), null when none */
    public String gpuAddress;
    /** the CUDA device ordinal the worker's backend bound to (-1: the CPU backend, which binds none) */
    public int deviceOrdinal = -1;

    public ChunkReport() {
    }
}
