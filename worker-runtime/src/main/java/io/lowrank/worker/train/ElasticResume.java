package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.lowrank.worker.data.CursorReshard;
import io.lowrank.worker.data.CursorState;
import io.lowrank.worker.data.TokenCursor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuing a run on a different number of workers. The global batch (workers x micro-batch x
 * gradient accumulation) must stay exactly the same, so the per-worker micro-batch and the
 * accumulation are re-planned ({@link #replan}), and the data cursors are re-sharded
 * ({@link CursorReshard}) so that no window is seen twice or skipped.
 */
public final class ElasticResume {
    private ElasticResume() {}

    /** A per-worker plan: micro-batch and gradient-accumulation steps. */
    public record Split(int batch, int accum) {}

    /**
     * The split of {@code globalBatch} over {@code workers}: with {@code batch} given, that
     * micro-batch (accumulation follows); otherwise the least accumulation whose micro-batch is at
     * most {@code maxBatch} (the old per-worker micro-batch, which is known to fit in memory).
     *
     * @throws IllegalArgumentException when no split keeps the global batch exactly
     */
    public static Split replan(long globalBatch, int workers, Integer batch, int maxBatch) {
        if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
        if (batch != null) {
            long perStep = (long) workers * batch;
            if (batch < 1 || globalBatch % perStep != 0) {
                throw new IllegalArgumentException("the global batch of " + globalBatch + " sequences cannot be kept with " + workers
                        + " workers x micro-batch " + batch + " (" + globalBatch + " is not a multiple of " + perStep + ")");
            }
            return new Split(batch, (int) (globalBatch / perStep));
        }
        if (globalBatch % workers != 0) {
            throw new IllegalArgumentException("the global batch of " + globalBatch + " sequences cannot be split evenly over " + workers
                    + " workers; choose a number of workers that divides " + globalBatch);
        }
        long perWorker = globalBatch / workers;
        for (long accum = 1; accum <= perWorker; accum++) {
            if (perWorker % accum == 0 && perWorker / accum <= maxBatch) return new Split((int) (perWorker / accum), (int) accum);
        }
        throw new IllegalStateException("unreachable: accumulation " + perWorker + " gives micro-batch 1");
    }

    /**
     * This worker's cursor state when the checkpoint was written by another number of workers.
     * Refuses a change of global batch: the steps before and after would not be the same training.
     */
    static CursorState reshardCursors(Path checkpoint, JsonNode trainerState, JsonNode cursors, RunConfig rc, TokenCursor target) {
        RunConfig written = RunConfig.fromJson(trainerState.get("run_config"), checkpoint + "/trainer_state.json");
        long oldGlobal = (long) cursors.size() * written.batchSize() * written.gradAccum();
        long newGlobal = (long) target.worldSize() * rc.batchSize() * rc.gradAccum();
        if (oldGlobal != newGlobal) {
            throw new IllegalStateException(checkpoint + " was written by " + cursors.size() + " workers x micro-batch " + written.batchSize()
                    + " x accumulation " + written.gradAccum() + " = global batch " + oldGlobal + "; this run has " + target.worldSize()
                    + " x " + rc.batchSize() + " x " + rc.gradAccum() + " = " + newGlobal + ". The global batch must stay the same");
        }
        if (written.seqLen() != rc.seqLen()) {
            throw new IllegalStateException(checkpoint + " was written with seq_len " + written.seqLen() + ", this run has " + rc.seqLen());
        }
        List<CursorState> old = new ArrayList<>();
        for (JsonNode c : cursors) old.add(CursorState.fromJson(c.toString()));
        return CursorReshard.reshard(old, target, rc.seqLen());
    }
}
