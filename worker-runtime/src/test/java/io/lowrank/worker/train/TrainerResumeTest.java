package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resume gives the identical loss sequence on CPU: a run interrupted after a checkpoint and resumed
 * in a fresh trainer (new backend, new cursor) reproduces the uninterrupted run's losses bit for bit.
 */
class TrainerResumeTest {
    static RunConfig config(String layer) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        String[] kv = {"model.hidden_size", "24", "model.intermediate_size", "40", "model.num_attention_heads", "3",
                "model.vocab_size", "97", "model.rank", "6", "train.seq_len", "12", "train.batch_size", "3",
                "train.grad_accum", "2", "train.steps", "8", "train.warmup_steps", "2", "train.lr", "0.01",
                "train.checkpoint_every", "4", "train.eval_every", "0", "train.log_every", "1", "train.threads", "2",
                "train.grad_clip", "0.5"};
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        if (layer.equals("full")) o.remove("model.rank");
        return RunConfig.load("tiny", layer).with(o);
    }

    static Path tokens(Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        int[] t = new int[4000];
        for (int i = 0; i < t.length; i++) t[i] = (i % 7 == 0) ? 5 : r.nextInt(97);  // a learnable pattern plus noise
        Path f = dir.resolve("train.npy");
        NpyTokens.writeInt32(f, t);
        return f;
    }

    static List<Double> losses(Path runDir) throws Exception {
        List<Double> out = new ArrayList<>();
        ObjectMapper m = new ObjectMapper();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode n = m.readTree(line);
            if (n.get("kind").asText().equals("train")) out.add(n.get("loss").asDouble());
        }
        return out;
    }

    static Trainer trainer(Backend be, RunConfig rc, Path data, Path runDir) throws Exception {
        ModelConfig mc = rc.model(97);
        int[] val = new int[13 * 6];
        for (int i = 0; i < val.length; i++) val[i] = (i * 31) % 97;
        return new Trainer(be, rc, mc, new TokenCursor(List.of(data)), val, runDir, new PrintStream(new ByteArrayOutputStream()));
    }

    /**
     * Distributed training evaluates in shares (rank r takes the held-out batches r, r + W, ...);
     * the shares must add up to the single evaluation, also when a rank gets no batch (W = 3 with 2
     * batches).
     */
    @Test
    void evaluationSharesAddUpToTheWholeEvaluation(@TempDir Path dir) throws Exception {
        RunConfig rc = config("cola");
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer t = trainer(be, rc, tokens(dir), null)) {
            t.trainOneStep();
            double whole = t.evaluate();
            assertTrue(Double.isFinite(whole) && whole > 0, "evaluation " + whole);
            for (int world = 2; world <= 3; world++) {
                double sum = 0, count = 0;
                for (int rank = 0; rank < world; rank++) {
                    double[] share = t.evaluateShare(rank, world);
                    sum += share[0];
                    count += share[1];
                }
                assertEquals(whole, sum / count, 1e-12 * whole, world + " shares");
            }
            assertEquals(0.0, t.evaluateShare(2, 3)[1], "2 held-out batches: rank 2 of 3 gets none");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"full", "cola"})
    void resumedRunRepeatsTheUninterruptedLossSequence(String layer, @TempDir Path tmp) throws Exception {
        RunConfig rc = config(layer);
        Path data = tokens(tmp);
        Path straight = tmp.resolve("straight"), interrupted = tmp.resolve("interrupted");
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2); Trainer t = trainer(be, rc, data, straight)) {
            t.run(8);
        }
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2); Trainer t = trainer(be, rc, data, interrupted)) {
            t.run(5);   // checkpoints at 4 and at the end (5); the resume below starts from step 4's
        }
        CheckpointDir.deleteRecursively(CheckpointDir.stepDir(interrupted, 5));
        List<Double> first = losses(interrupted).subList(0, 4);
        Files.delete(interrupted.resolve("metrics.jsonl"));
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2); Trainer t = trainer(be, rc, data, interrupted)) {
            t.resume(CheckpointDir.latest(interrupted).orElseThrow());
            assertEquals(4, t.step());
            t.run(8);
        }
        List<Double> resumed = new ArrayList<>(first);
        resumed.addAll(losses(interrupted));
        List<Double> expected = losses(straight);
        assertEquals(8, expected.size());
        assertEquals(expected, resumed, "loss sequence after resume differs");
        assertTrue(expected.get(7) < expected.get(0), "loss should fall on a learnable pattern: " + expected);
    }
}
