package io.lowrank.worker.train;

import io.lowrank.worker.comm.InProcessAllReduce;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * N data-parallel workers with micro-batch b (gradients summed by the all-reduce, overlapped with
 * the backward pass in small buckets) train the same model as one worker with micro-batch N*b.
 *
 * <p>Tolerance. Both runs compute the gradient of the same mean loss over the same windows; they
 * differ only in float32 summation order (N partial sums over b rows instead of one over N*b, and
 * the all-reduce's order), about 1e-7 relative per gradient element. AdamW divides by sqrt(v), so
 * on elements whose gradient is near zero such differences are amplified in the first steps; over
 * 6 steps we measured ‖w_N − w_1‖/‖w_1‖ from 3e-8 (CoLA) to 5.1e-7 (CR-Net) and per-step loss
 * differences up to 3.2e-8 relative, and assert 10x the largest: 5e-6 and 3e-7. The negative
 * control shows the bound has teeth: feeding the workers the wrong windows (a cursor that ignores
 * the rank, so each sees windows 0..b-1) lands at 0.06-0.16, four orders of magnitude outside it.
 */
class DataParallelEquivalenceTest {
    private static final int STEPS = 6;
    private static final double WEIGHT_TOLERANCE = 5e-6;
    private static final double LOSS_TOLERANCE = 3e-7;

    private static RunConfig config(String layer, int batch) throws Exception {
        return TrainerResumeTest.config(layer).with(java.util.Map.of(
                "train.batch_size", Integer.toString(batch), "train.steps", Integer.toString(STEPS),
                "train.checkpoint_every", "0", "train.threads", "1",
                // a few thousand floats per bucket: several buckets per step, submitted mid-backward
                "train.bucket_mb", "0.01"));
    }

    private record Outcome(double[] losses, float[] weights) {}

    private static Outcome single(String layer, int batch, Path data) throws Exception {
        RunConfig rc = config(layer, batch);
        ModelConfig mc = rc.model(97);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer t = new Trainer(be, rc, mc, new TokenCursor(List.of(data)), null, null, quiet())) {
            double[] losses = new double[STEPS];
            for (int s = 0; s < STEPS; s++) losses[s] = t.trainOneStep();
            return new Outcome(losses, weights(t));
        }
    }

    /** Runs {@code world} workers on threads; {@code cursorWorld} is the world size their data cursors believe in. */
    private static List<Outcome> parallel(String layer, int world, int cursorWorld, int batch, Path data) throws Exception {
        InProcessAllReduce.Group group = new InProcessAllReduce.Group(world);
        List<InProcessAllReduce> rings = group.joinAll();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                final int rank = r;
                futures.add(pool.submit(() -> {
                    RunConfig rc = config(layer, batch);
                    ModelConfig mc = rc.model(97);
                    TokenCursor cursor = new TokenCursor(List.of(data), rank % cursorWorld, cursorWorld);
                    try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
                         Trainer t = new Trainer(be, rc, mc, cursor, null, null, quiet())) {
                        t.setGradientSync(new GradientSync(rings.get(rank), t.params().grads(), rc.bucketMb()));
                        double[] losses = new double[STEPS];
                        for (int s = 0; s < STEPS; s++) losses[s] = t.trainOneStep();
                        return new Outcome(losses, weights(t));
                    }
                }));
            }
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : futures) out.add(f.get());
            return out;
        } finally {
            pool.shutdownNow();
            for (InProcessAllReduce r : rings) r.close();
        }
    }

    @ParameterizedTest(name = "{0} x {1} workers")
    @CsvSource({"full,2", "full,3", "cola,2", "cola,3", "crnet,2", "elas,3"})
    void workersTogetherTrainLikeOneWorkerWithTheirCombinedBatch(String layer, int world, @TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        int b = 2;
        Outcome reference = single(layer, world * b, data);
        List<Outcome> workers = parallel(layer, world, world, b, data);

        for (int r = 1; r < world; r++) {
            assertArrayEquals(workers.get(0).weights, workers.get(r).weights, "rank " + r + " weights drifted from rank 0's");
        }
        for (int s = 0; s < STEPS; s++) {
            double mean = 0;
            for (Outcome w : workers) mean += w.losses[s] / world;
            double rel = Math.abs(mean - reference.losses[s]) / Math.abs(reference.losses[s]);
            assertTrue(rel < LOSS_TOLERANCE, "step " + s + ": mean worker loss " + mean + " vs single " + reference.losses[s] + " (rel " + rel + ")");
        }
        double relW = relDiff(workers.get(0).weights, reference.weights);
        assertTrue(relW < WEIGHT_TOLERANCE, "weights after " + STEPS + " steps: rel diff " + relW);

        // negative control: every rank reads windows 0..b-1 (a cursor that ignores the rank)
        List<Outcome> wrong = parallel(layer, world, 1, b, data);
        double relWrong = relDiff(wrong.get(0).weights, reference.weights);
        assertTrue(relWrong > 1000 * WEIGHT_TOLERANCE, "wrong data split should be far off, rel diff " + relWrong);
        assertEquals(world, workers.size());
    }

    private static double relDiff(float[] a, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] weights(Trainer t) {
        java.nio.FloatBuffer fb = t.params().values().storage().floatBuffer();
        int off = t.params().values().offset();
        float[] w = new float[t.params().values().size];
        for (int i = 0; i < w.length; i++) w[i] = fb.get(off + i);
        return w;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }
}
