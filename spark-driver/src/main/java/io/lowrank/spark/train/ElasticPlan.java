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
 * {@code train --resume RUN_DIR --workers W2 [--batch B]}: continues a run on another number of
 * workers with the same global batch. Re-plans micro-batch and accumulation, checks on the driver
 * (before any worker starts) that the checkpoint's data cursors can be re-sharded exactly, and
 * updates {@code run.json} so that later resumes continue with W2. The workers re-shard their
 * cursors themselves when they load the checkpoint ({@link io.lowrank.worker.train.Trainer#resume}).
 */
public final class ElasticPlan {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ElasticPlan() {}

    /**
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
        long global = (long) oldWorkers * rc.batchSize() * rc.gradAccum();
        ElasticResume.Split split;
        try {
            split = ElasticResume.replan(global, workers, batch, rc.batchSize());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("train --resume " + run.uri() + " --workers " + workers + ": " + e.getMessage(), e);
        }
        Optional<String> latest = run.latestVerifiedCheckpoint(out::println);
        if (latest.isPresent()) {
            JsonNode st;
            try (var in = run.fileSystem().open(new org.apache.hadoop.fs.Path(latest.get(), CheckpointDir.TRAINER_STATE_JSON))) {
                st = JSON.readTree(in);
            }
            List<CursorState> cursors = new ArrayList<>();
            for (JsonNode c : st.path("train_cursors")) cursors.add(CursorState.fromJson(c.toString()));
            if (cursors.size() != oldWorkers) {
                throw new IllegalStateException(latest.get() + " holds " + cursors.size() + " data cursors but run.json says " + oldWorkers + " workers");
            }
            try {
                CursorReshard.prefix(cursors);
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException("train --resume " + run.uri() + " --workers " + workers + ": " + e.getMessage(), e);
            }
        }
        RunConfig next = rc.with(Map.of("train.batch_size", Integer.toString(split.batch()), "train.grad_accum", Integer.toString(split.accum())));
        out.printf("elastic resume: %d workers x micro-batch %d x accumulation %d -> %d x %d x %d (global batch %d sequences kept)%n",
                oldWorkers, rc.batchSize(), rc.gradAccum(), workers, split.batch(), split.accum(), global);
        runJson.put("workers", workers);
        runJson.set("run_config", next.toJson());
        return next;
    }
}
