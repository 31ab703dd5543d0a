package io.lowrank.spark.train;

import io.lowrank.worker.comm.RingSessionToken;

import java.io.Serializable;
import java.util.Map;

/**
 * Everything a worker needs to train steps {@code [startStep, endStep)} of a run: shipped in the
 * barrier task's closure (Spark always Java-serialises closures; it holds strings and numbers only,
 * never tensors: weights travel as checkpoint files on the run's file system).
 *
 * @param runId           the run's id, constant across chunks and application attempts
 * @param runToken        per-run random value; mixed with the chunk and stage attempt into the ring's session token
 * @param chunk           chunk index (0-based)
 * @param startStep       first step of the chunk (the step of {@code resumeFrom}, or 0)
 * @param endStep         the chunk ends when the trainer reaches this step; a checkpoint is written there
 * @param totalSteps      steps of the whole run (for the progress line)
 * @param worldSize       number of workers (= barrier tasks)
 * @param threads         compute threads per worker (= spark.task.cpus)
 * @param runConfigJson   the run's RunConfig as JSON
 * @param vocabSize       tokenizer vocabulary (the model's vocab comes from it unless the config sets one)
 * @param runDir          run directory URI on the job's Hadoop file system
 * @param datasetDir      the prepared dataset (manifest.json + shards) on the run's file systems
 * @param resumeFrom      checkpoint directory URI to start from, or null at step 0
 * @param hadoopConf      the driver's Hadoop configuration entries, so that executors reach the same file systems
 * @param peerTimeoutMs   the all-reduce declares a silent neighbour dead after this long
 * @param failAtStep      fault injection for tests (--fail-at-step): rank {@code failRank} halts its executor JVM
 *                        before this step, once per run (a marker file in the run directory); -1 = never
 * @param failRank        see failAtStep
 * @param failKind        "halt" (the executor JVM halts, once per run) or "nonfinite" (rank {@code failRank}
 *                        writes a NaN into its gradient before the all-reduce at that step, every time it runs)
 */
public record ChunkSpec(String runId, long runToken, int chunk, long startStep, long endStep, long totalSteps,
                        int worldSize, int threads, String runConfigJson, int vocabSize, String runDir,
                        String datasetDir, String resumeFrom,
                        Map<String, String> hadoopConf, long peerTimeoutMs, long failAtStep, int failRank,
                        String failKind)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Session token of this chunk's ring on this stage attempt: frames of earlier attempts are rejected. */
    public long sessionToken(int stageAttempt) {
        return RingSessionToken.forAttempt(runToken, chunk, stageAttempt);
    }
}
