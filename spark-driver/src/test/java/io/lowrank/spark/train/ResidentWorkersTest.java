package io.lowrank.spark.train;

import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.Trainer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rules that keep a resident worker from ever standing in for the wrong state: handed out only
 * for its own key at exactly its step, closed on a mismatch, and never held beside a worker the
 * executor builds instead (real tiny trainers; a closed worker has released its backend's memory).
 */
class ResidentWorkersTest {
    @TempDir
    Path dir;

    @AfterEach
    void uninstall() {
        ResidentWorkers.uninstall();
    }

    private ResidentWorkers.Worker worker(int steps) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        String[] kv = {"model.hidden_size", "24", "model.intermediate_size", "40", "model.num_attention_heads", "3",
                "model.vocab_size", "97", "model.rank", "6", "train.seq_len", "12", "train.batch_size", "2",
                "train.grad_accum", "1", "train.steps", "8", "train.warmup_steps", "2", "train.eval_every", "0"};
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        RunConfig rc = RunConfig.load("tiny", "cola").with(o);
        Path tokens = dir.resolve("train.npy");
        if (!tokens.toFile().exists()) {
            SplittableRandom r = new SplittableRandom(3);
            int[] t = new int[2000];
            for (int i = 0; i < t.length; i++) t[i] = r.nextInt(97);
            NpyTokens.writeInt32(tokens, t);
        }
        Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F32, 1);
        Trainer t = new Trainer(be, rc, rc.model(97), new TokenCursor(List.of(tokens)), null, null,
                new PrintStream(new ByteArrayOutputStream()));
        for (int s = 0; s < steps; s++) t.trainOneStep();
        return new ResidentWorkers.Worker(be, t);
    }

    private static boolean closed(ResidentWorkers.Worker w) {
        return w.backend().memory().liveBytes() == 0;
    }

    private static ChunkSpec spec(String runId) {
        return new ChunkSpec(runId, 42L, 1, 2, 4, 8, 2, 1, "{}", 97, "file:/run/" + runId, "file:/data", null,
                Map.of(), 1000, -1, -1, "halt");
    }

    @Test
    void withoutThePluginNothingIsKept() throws Exception {
        ResidentWorkers.Worker w = worker(0);
        try {
            assertFalse(ResidentWorkers.keep(ResidentWorkers.key(spec("a"), 0), w));
            assertNull(ResidentWorkers.take(ResidentWorkers.key(spec("a"), 0), 0));
        } finally {
            w.close();
        }
    }

    @Test
    void handsOutTheSameTrainerOnlyForItsKeyAndStep() throws Exception {
        ResidentWorkers.install(new ResidentWorkers());
        ResidentWorkers.Key k0 = ResidentWorkers.key(spec("a"), 0);
        ResidentWorkers.Worker w = worker(2);
        assertTrue(ResidentWorkers.keep(k0, w));
        assertSame(w, ResidentWorkers.take(k0, 2));
        assertNull(ResidentWorkers.take(k0, 2), "taken once");
        assertFalse(closed(w));

        assertTrue(ResidentWorkers.keep(k0, w));
        assertNull(ResidentWorkers.take(k0, 1), "a chunk retried from an earlier checkpoint must not get a later state");
        assertTrue(closed(w));
        assertEquals(0, ResidentWorkers.size());
    }

    @Test
    void aMissClosesTheRunsOtherWorkersAndAnotherRunEvictsTheFirst() throws Exception {
        ResidentWorkers.install(new ResidentWorkers());
        ResidentWorkers.Worker w1 = worker(0), w2 = worker(0);
        ResidentWorkers.keep(ResidentWorkers.key(spec("a"), 1), w1);
        ResidentWorkers.keep(ResidentWorkers.key(spec("a"), 2), w2);
        assertEquals(2, ResidentWorkers.size());
        // rank 0 of the next chunk lands on an executor that kept ranks 1 and 2: it builds its own,
        // and the executor must not hold those two beside it
        assertNull(ResidentWorkers.take(ResidentWorkers.key(spec("a"), 0), 0));
        assertTrue(closed(w1) && closed(w2));
        assertEquals(0, ResidentWorkers.size());

        ResidentWorkers.Worker x = worker(0), y = worker(0);
        ResidentWorkers.keep(ResidentWorkers.key(spec("a"), 0), x);
        ResidentWorkers.keep(ResidentWorkers.key(spec("b"), 0), y);
        assertTrue(closed(x), "keeping run b's worker closes run a's");
        assertFalse(closed(y));
        assertEquals(1, ResidentWorkers.size());
    }
}
