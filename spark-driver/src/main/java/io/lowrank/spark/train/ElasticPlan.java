package io.lowrank.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.data.CursorReshard;
import io.lowrank.worker.data.CursorState;
import io.lowrank.worker.train.ElasticResume;
import io.lowrank.worker.train.RunConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A change of world size with the same global batch: {@code train --resume RUN_DIR --workers W2
 * [--batch B]} before the application starts, and the driver's {@code --elastic} loop between
 * chunks ({@link ElasticWorld}). Re-plans micro-batch and accumulation, checks on the driver
 * (before any worker starts) that the checkpoint's data cursors can be re-sharded exactly, and
 * updates {@code run.json} so that later resumes continue with W2. The workers re-shard their
 * cursors themselves when they load the checkpoint ({@link io.lowrank.worker.train.Trainer#resume}).
 */
public final class ElasticPlan {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ElasticPlan() {}

    /** workers x micro-batch x accumulation. */
    public static long globalBatch(int workers, RunConfig rc) {
        return (long) workers * rc.batchSize() * rc.gradAccum();
    }

    /**
     * The run config for {@code workers} with the global batch of {@code oldWorkers} x rc's split
     * ({@link ElasticResume#replan}).
     *
     * @param batch    the new per-worker micro-batch, or null to choose one (at most maxBatch)
     * @param maxBatch the largest micro-batch known to fit in memory
     * @throws IllegalArgumentException when the global batch cannot be kept exactly
     */
    public static RunConfig replan(RunConfig rc, int oldWorkers, int workers, Integer batch, int maxBatch) {
        ElasticResume.Split split = ElasticResume.replan(globalBatch(oldWorkers, rc), workers, batch, maxBatch);
        if (split.batch() == rc.batchSize() && split.accum() == rc.gradAccum()) return rc;
        return rc.with(Map.of("train.batch_size", Integer.toString(split.batch()), "train.grad_accum", Integer.toString(split.accum())));
    }

    /**
     * Why the data cursors of {@code checkpoint}, written by {@code oldWorkers} workers (checked), cannot
     * be re-sharded onto another number of workers, or empty when they can (or there is no checkpoint yet).
     */
    public static Optional<String> reshardRefusal(RunDirectory run, Optional<String> checkpoint, int oldWorkers) throws IOException {
        if (checkpoint.isEmpty()) return Optional.empty();
        List<CursorState> cursors = cursors(run, checkpoint.get());
        if (cursors.size() != oldWorkers) {
            throw new IllegalStateException(checkpoint.get() + " holds " + cursors.size() + " data cursors but run.json says " + oldWorkers + " workers");
        }
        return reshardRefusal(cursors);
    }

    /** Why these data cursors (one per worker) cannot be re-sharded onto another number of workers, or empty. */
    public static Optional<String> reshardRefusal(List<CursorState> cursors) {
        try {
            CursorReshard.prefix(cursors);
            return Optional.empty();
        } catch (IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The data cursors of a checkpoint, one per worker that wrote it. */
    public static List<CursorState> cursors(RunDirectory run, String checkpoint) throws IOException {
        JsonNode st;
        try (var in = run.fileSystem().open(new org.apache.hadoop.fs.Path(checkpoint, CheckpointDir.TRAINER_STATE_JSON))) {
            st = JSON.readTree(in);
        }
        List<CursorState> cursors = new ArrayList<>();
        for (JsonNode c : st.path("train_cursors")) cursors.add(CursorState.fromJson(c.toString()));
        return cursors;
    }

    /** The line that says what a change of world size did to the split. */
    public static String describe(int oldWorkers, RunConfig before, int workers, RunConfig after) {
        return String.format("%d workers x micro-batch %d x accumulation %d -> %d x %d x %d (global batch %d sequences kept)",
                oldWorkers, before.batchSize(), before.gradAccum(), workers, after.batchSize(), after.gradAccum(), globalBatch(oldWorkers, before));
    }

    /** run.json's fields for a world size: workers and the re-planned run_config. */
    public static void record(ObjectNode runJson, int workers, RunConfig rc) {
        runJson.put("workers", workers);
        runJson.set("run_config", rc.toJson());
    }

    /**
     * {@code train --resume RUN --workers W2 [--batch B]}.
     *
     * @param runJson  the run's run.json; updated in place (workers, run_config) when the plan changes
     * @param workers  the new worker count
     * @param batch    the new per-worker micro-batch, or null to choose one (at most the old one)
     * @return the run config to train with
     * @throws IllegalArgumentException when the global batch cannot be kept or the cursors cannot be re-sharded
     */
    public static RunConfig apply(RunDirectory run, ObjectNode runJson, RunConfig rc, int workers, Integer batch, PrintStream out)
            throws IOException {
        int oldWorkers = runJson.get("workers").asInt();
        if (workers == oldWorkers && batch == null) return rc;
        String what = "train --resume " + run.uri() + " --workers " + workers + ": ";
        RunConfig next;
        try {
            next = replan(rc, oldWorkers, workers, batch, rc.batchSize());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + e.getMessage(), e);
        }
        Optional<String> refusal = reshardRefusal(run, run.latestVerifiedCheckpoint(out::println), oldWorkers);
        if (refusal.isPresent()) throw new IllegalArgumentException(what + refusal.get());
        out.println("elastic resume: " + describe(oldWorkers, rc, workers, next));
        record(runJson, workers, next);
        return next;
    }
}
