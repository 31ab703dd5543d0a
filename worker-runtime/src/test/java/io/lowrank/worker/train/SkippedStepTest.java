package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.comm.InProcessAllReduce;
import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad gradients: an Inf written into ONE rank's gradient before the all-reduce makes EVERY rank
 * skip that optimizer step (the decision is taken on the all-reduced gradient), the ranks' weights
 * stay bitwise equal, and the run continues exactly like a run that never had that step's
 * update. Too many skips in a row stop the run on every rank at the same step with a report.
 */
class SkippedStepTest {
    private static final int WORLD = 2, BATCH = 2, ACCUM = 2, STEPS = 5, BAD_STEP = 2;
    private static final String FAULTY_TENSOR = "model.layers.1.mlp.up_proj.cola_b";

    private static RunConfig config(int steps, int maxSkipped) throws Exception {
        // a constant learning rate (no warmup, cosine to 1.0x) so that a run without the skipped
        // step's data is the exact reference: the schedule cannot tell the two apart
        return TrainerResumeTest.config("cola").with(Map.of(
                "train.batch_size", Integer.toString(BATCH), "train.grad_accum", Integer.toString(ACCUM),
                "train.steps", Integer.toString(steps), "train.warmup_steps", "0", "train.min_lr_ratio", "1.0",
                "train.checkpoint_every", "0", "train.threads", "1", "train.bucket_mb", "0.01",
                "train.max_skipped_steps", Integer.toString(maxSkipped)));
    }

    /** What one rank saw: weights after every step, skip flags, and the exception that stopped it (if any). */
    private record RankRun(List<float[]> weightsAfterStep, boolean[] skipped, long skippedSteps, Throwable stopped) {}

    /** Faults per (rank, step): null = none. */
    private interface Faults { Trainer.GradientFault at(int rank, long step, ParameterStore params); }

    private static List<RankRun> train(RunConfig rc, Path data, int steps, Faults faults) throws Exception {
        InProcessAllReduce.Group group = new InProcessAllReduce.Group(WORLD);
        List<InProcessAllReduce> rings = group.joinAll();
        ExecutorService pool = Executors.newFixedThreadPool(WORLD);
        try {
            List<Future<RankRun>> futures = new ArrayList<>();
            for (int r = 0; r < WORLD; r++) {
                final int rank = r;
                futures.add(pool.submit(() -> {
                    ModelConfig mc = rc.model(97);
                    try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
                         Trainer t = new Trainer(be, rc, mc, new TokenCursor(List.of(data), rank, WORLD), null, null, quiet())) {
                        t.setGradientSync(new GradientSync(rings.get(rank), t.params().grads(), rc.bucketMb()));
                        List<float[]> weights = new ArrayList<>();
                        boolean[] skipped = new boolean[steps];
                        try {
                            for (int s = 0; s < steps; s++) {
                                t.setGradientFault(faults.at(rank, s, t.params()));
                                t.trainOneStep();
                                skipped[s] = t.lastSkipped();
                                weights.add(weights(t));
                            }
                        } catch (NonFiniteStepsException e) {
                            return new RankRun(weights, skipped, t.skippedSteps(), e);
                        }
                        return new RankRun(weights, skipped, t.skippedSteps(), null);
                    }
                }));
            }
            List<RankRun> out = new ArrayList<>();
            for (Future<RankRun> f : futures) out.add(f.get());
            return out;
        } finally {
            pool.shutdownNow();
            for (InProcessAllReduce r : rings) r.close();
        }
    }

    private static Trainer.GradientFault infInto(ParameterStore params, float value) {
        ParameterStore.Param p = params.get(FAULTY_TENSOR);
        return new Trainer.GradientFault(0, p.offset + p.grad.size / 2, value);   // step filled in by the caller
    }

    @Test
    void anInfOnOneRankSkipsTheStepOnEveryRankLikeARunThatNeverSawIt(@TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        RunConfig rc = config(STEPS, 3);
        List<RankRun> run = train(rc, data, STEPS, (rank, step, params) -> rank == 1 && step == BAD_STEP
                ? withStep(infInto(params, Float.POSITIVE_INFINITY), step) : null);

        for (RankRun r : run) {
            assertEquals(null, r.stopped, "one skip must not stop the run");
            boolean[] expected = new boolean[STEPS];
            expected[BAD_STEP] = true;
            assertArrayEquals(expected, r.skipped, "exactly the faulty step is skipped, on every rank");
            assertEquals(1, r.skippedSteps);
            // the skipped step left the weights exactly as they were
            assertArrayEquals(r.weightsAfterStep.get(BAD_STEP - 1), r.weightsAfterStep.get(BAD_STEP), "weights changed in the skipped step");
        }
        for (int s = 0; s < STEPS; s++) {
            assertArrayEquals(run.get(0).weightsAfterStep.get(s), run.get(1).weightsAfterStep.get(s), "ranks' weights differ after step " + s);
        }

        // reference: the same run on data without the skipped step's windows (one step fewer, same
        // constant learning rate, same AdamW step count): bitwise the same weights at the end
        Path without = withoutStep(data, tmp.resolve("without-step.npy"), rc.seqLen(), BAD_STEP);
        List<RankRun> reference = train(rc, without, STEPS - 1, (rank, step, params) -> null);
        assertArrayEquals(reference.get(0).weightsAfterStep.get(STEPS - 2), run.get(0).weightsAfterStep.get(STEPS - 1),
                "a run that skipped step " + BAD_STEP + " must equal a run that never had its update");
        assertArrayEquals(reference.get(0).weightsAfterStep.get(BAD_STEP - 1), run.get(0).weightsAfterStep.get(BAD_STEP));

        // negative control: the same run without the fault does not end there (the comparison has teeth)
        List<RankRun> clean = train(rc, data, STEPS, (rank, step, params) -> null);
        assertFalse(Arrays.equals(clean.get(0).weightsAfterStep.get(STEPS - 1), run.get(0).weightsAfterStep.get(STEPS - 1)));
        for (boolean b : clean.get(0).skipped) assertFalse(b);
    }

    @Test
    void consecutiveSkipsStopEveryRankAtTheSameStepWithAReport(@TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        RunConfig rc = config(STEPS, 3);
        // rank 0 gets a NaN at steps 1-3: the third skip in a row stops the run
        List<RankRun> run = train(rc, data, STEPS, (rank, step, params) -> rank == 0 && step >= 1 && step <= 3
                ? withStep(infInto(params, Float.NaN), step) : null);
        for (int r = 0; r < WORLD; r++) {
            RankRun rr = run.get(r);
            assertTrue(rr.stopped instanceof NonFiniteStepsException, "rank " + r + " should stop, got " + rr.stopped);
            NonFiniteStepsException e = (NonFiniteStepsException) rr.stopped;
            assertEquals(4, e.step, "rank " + r + ": stops at step 4 (the third skip in a row)");
            assertEquals(3, rr.weightsAfterStep.size(), "steps 0-2 completed before the stop");
            assertEquals(rc.lr(), e.lr, 1e-15);
            assertTrue(e.getMessage().contains(FAULTY_TENSOR) && e.firstTensors.startsWith(FAULTY_TENSOR + " (1 of "),
                    "the report names the tensor with the non-finite gradient: " + e.getMessage());
            assertTrue(e.getMessage().contains("train.max_skipped_steps=3"), e.getMessage());
        }
        // a finite step between skips resets the count: skips at 1 and 3 only do not stop a limit of 2
        List<RankRun> apart = train(config(STEPS, 2), data, STEPS, (rank, step, params) -> rank == 1 && (step == 1 || step == 3)
                ? withStep(infInto(params, Float.NEGATIVE_INFINITY), step) : null);
        assertEquals(null, apart.get(0).stopped);
        assertEquals(2, apart.get(0).skippedSteps);
    }

    @Test
    void singleProcessRunLogsTheSkipInMetricsAndKeepsItInTheCheckpoint(@TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        Path runDir = Files.createDirectories(tmp.resolve("run"));
        RunConfig rc = config(4, 3);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer t = TrainerResumeTest.trainer(be, rc, data, runDir)) {
            t.setGradientFault(withStep(infInto(t.params(), Float.POSITIVE_INFINITY), 1));
            t.run(4);
            assertEquals(1, t.skippedSteps());
        }
        ObjectMapper m = new ObjectMapper();
        List<JsonNode> train = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode n = m.readTree(line);
            if (n.get("kind").asText().equals("train")) train.add(n);
        }
        assertEquals(4, train.size());
        for (JsonNode n : train) assertEquals(n.get("step").asInt() == 2, n.path("skipped").asBoolean(false), n.toString());
        JsonNode state = m.readTree(runDir.resolve("step-00000004/trainer_state.json").toFile());
        assertEquals(1, state.get("skipped_steps").asLong());
        assertEquals(0, state.get("consecutive_skipped_steps").asInt());
    }

    @Test
    void maxSkippedStepsIsValidated() {
        ConfigException e = assertThrows(ConfigException.class, () -> config(STEPS, 0));
        assertTrue(e.getMessage().contains("train.max_skipped_steps"), e.getMessage());
    }

    private static Trainer.GradientFault withStep(Trainer.GradientFault f, long step) {
        return new Trainer.GradientFault(step, f.element(), f.value());
    }

    /** A copy of the token file without the windows that optimizer step {@code step} consumes (all ranks together). */
    private static Path withoutStep(Path data, Path out, int seqLen, int step) throws Exception {
        int[] t = NpyTokens.read(data);
        int window = seqLen + 1, perStep = WORLD * BATCH * ACCUM * window;
        int from = step * perStep, to = from + perStep;
        int[] cut = new int[t.length - perStep];
        System.arraycopy(t, 0, cut, 0, from);
        System.arraycopy(t, to, cut, from, t.length - to);
        NpyTokens.writeInt32(out, cut);
        return out;
    }

    private static float[] weights(Trainer t) {
        FloatBuffer fb = t.params().values().storage().floatBuffer();
        int off = t.params().values().offset();
        float[] w = new float[t.params().values().size];
        for (int i = 0; i < w.length; i++) w[i] = fb.get(off + i);
        return w;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }
}
