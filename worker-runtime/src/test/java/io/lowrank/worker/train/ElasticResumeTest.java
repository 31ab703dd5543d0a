package io.lowrank.worker.train;

import io.lowrank.worker.comm.InProcessAllReduce;
import io.lowrank.worker.data.CursorState;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run continued from a checkpoint on another number of workers, with the same global batch,
 * trains like the uninterrupted run: per-step losses and final weights within the tolerances of
 * {@link DataParallelEquivalenceTest} (the two differ only in float32 summation order).
 */
class ElasticResumeTest {
    private static final double WEIGHT_TOLERANCE = 5e-6, LOSS_TOLERANCE = 3e-7;   // DataParallelEquivalenceTest's
    private static final int STEPS = 6, SPLIT = 3;

    private static RunConfig config(int batch, int accum) throws Exception {
        return TrainerResumeTest.config("cola").with(Map.of(
                "train.batch_size", Integer.toString(batch), "train.grad_accum", Integer.toString(accum),
                "train.steps", Integer.toString(STEPS), "train.checkpoint_every", "0", "train.threads", "1", "train.bucket_mb", "0.01"));
    }

    private record Phase(double[] meanLosses, float[] weights, List<CursorState> cursors) {}

    /** {@code world} workers from {@code resume} (or step 0) for {@code steps} steps; the checkpoint is written into {@code save}. */
    private static Phase train(RunConfig rc, int world, Path data, Path resume, int steps, Path save) throws Exception {
        List<InProcessAllReduce> rings = new InProcessAllReduce.Group(world).joinAll();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<Object[]>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                final int rank = r;
                fs.add(pool.submit(() -> {
                    try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
                         Trainer t = new Trainer(be, rc, rc.model(97), new TokenCursor(List.of(data), rank, world), null, null,
                                 new PrintStream(new ByteArrayOutputStream()))) {
                        if (resume != null) t.resume(resume, rank, world);
                        t.setGradientSync(new GradientSync(rings.get(rank), t.params().grads(), rc.bucketMb()));
                        double[] losses = new double[steps];
                        for (int s = 0; s < steps; s++) losses[s] = t.trainOneStep();
                        return new Object[]{losses, weights(t), t.cursorState(), t};
                    }
                }));
            }
            double[] mean = new double[steps];
            List<CursorState> cursors = new ArrayList<>();
            float[] w0 = null;
            for (Future<Object[]> f : fs) {
                Object[] o = f.get();
                double[] l = (double[]) o[0];
                for (int s = 0; s < steps; s++) mean[s] += l[s] / world;
                if (w0 == null) w0 = (float[]) o[1]; else assertArrayEquals(w0, (float[]) o[1], "ranks drifted apart");
                cursors.add((CursorState) o[2]);
            }
            return new Phase(mean, w0, cursors);
        } finally {
            pool.shutdownNow();
            for (InProcessAllReduce r : rings) r.close();
        }
    }

    @ParameterizedTest(name = "{0} workers x {1} x accum {2} -> {3} workers")
    @CsvSource({"2,3,1,3", "3,2,1,2", "2,2,2,4"})
    void continuingOnAnotherWorkerCountTrainsLikeTheUninterruptedRun(int w1, int b1, int a1, int w2, @TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        RunConfig rc1 = config(b1, a1);
        ElasticResume.Split split = ElasticResume.replan((long) w1 * b1 * a1, w2, null, b1);
        RunConfig rc2 = config(split.batch(), split.accum());
        assertEquals((long) w1 * b1 * a1, (long) w2 * split.batch() * split.accum());

        Phase uninterrupted = train(rc1, w1, data, null, STEPS, null);
        // first part on w1 workers, checkpoint with their cursors, rest on w2 workers
        Path cp = tmp.resolve("cp");
        Phase first = trainAndCheckpoint(rc1, w1, data, cp);
        Phase second = train(rc2, w2, data, cp, STEPS - SPLIT, null);

        for (int s = 0; s < STEPS; s++) {
            double got = s < SPLIT ? first.meanLosses[s] : second.meanLosses[s - SPLIT];
            double rel = Math.abs(got - uninterrupted.meanLosses[s]) / Math.abs(uninterrupted.meanLosses[s]);
            assertTrue(rel < LOSS_TOLERANCE, "step " + s + ": loss " + got + " vs uninterrupted " + uninterrupted.meanLosses[s] + " (rel " + rel + ")");
        }
        double relW = relDiff(second.weights, uninterrupted.weights);
        assertTrue(relW < WEIGHT_TOLERANCE, "weights after " + STEPS + " steps: rel diff " + relW);
        // sequences accounted exactly: the same windows in all, the same total served
        long servedU = 0, servedE = 0;
        for (CursorState c : uninterrupted.cursors) servedU += c.sequencesServed();
        for (CursorState c : second.cursors) servedE += c.sequencesServed();
        assertEquals(servedU, servedE);
        assertEquals((long) STEPS * w1 * b1 * a1, servedE);
        long endU = uninterrupted.cursors.stream().mapToLong(CursorState::windowInEpoch).max().orElseThrow();
        long endE = second.cursors.stream().mapToLong(CursorState::windowInEpoch).max().orElseThrow();
        assertEquals(endU, endE, "both runs end at the same window of the stream");
    }

    /** Trains SPLIT steps on {@code world} workers and writes a distributed checkpoint (rank 0, all cursors). */
    private static Phase trainAndCheckpoint(RunConfig rc, int world, Path data, Path cp) throws Exception {
        List<InProcessAllReduce> rings = new InProcessAllReduce.Group(world).joinAll();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        List<Backend> backends = new ArrayList<>();
        List<Trainer> trainers = new ArrayList<>();
        try {
            for (int r = 0; r < world; r++) {
                Backend be = new Nd4jCpuBackend(DType.F32, 1);
                backends.add(be);
                Trainer t = new Trainer(be, rc, rc.model(97), new TokenCursor(List.of(data), r, world), null, null, new PrintStream(new ByteArrayOutputStream()));
                t.setGradientSync(new GradientSync(rings.get(r), t.params().grads(), rc.bucketMb()));
                trainers.add(t);
            }
            List<Future<double[]>> fs = new ArrayList<>();
            for (Trainer t : trainers) {
                fs.add(pool.submit(() -> {
                    double[] l = new double[SPLIT];
                    for (int s = 0; s < SPLIT; s++) l[s] = t.trainOneStep();
                    return l;
                }));
            }
            double[] mean = new double[SPLIT];
            for (Future<double[]> f : fs) {
                double[] l = f.get();
                for (int s = 0; s < SPLIT; s++) mean[s] += l[s] / world;
            }
            List<CursorState> cursors = new ArrayList<>();
            for (Trainer t : trainers) cursors.add(t.cursorState());
            trainers.get(0).checkpointDistributed(cp, cursors);
            return new Phase(mean, weights(trainers.get(0)), cursors);
        } finally {
            pool.shutdownNow();
            for (Trainer t : trainers) t.close();
            for (Backend b : backends) b.close();
            for (InProcessAllReduce r : rings) r.close();
        }
    }

    @Test
    void replanKeepsTheGlobalBatchOrRefusesNamingIt() {
        assertEquals(new ElasticResume.Split(2, 1), ElasticResume.replan(6, 3, null, 3));
        assertEquals(new ElasticResume.Split(1, 3), ElasticResume.replan(6, 2, null, 2), "micro-batch at most the old one: accumulate");
        assertEquals(new ElasticResume.Split(3, 1), ElasticResume.replan(6, 2, 3, 2), "an explicit micro-batch wins");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ElasticResume.replan(8, 3, null, 4));
        assertTrue(e.getMessage().contains("global batch of 8") && e.getMessage().contains("3 workers"), e.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> ElasticResume.replan(12, 3, 3, 4));
        assertTrue(e2.getMessage().contains("micro-batch 3"), e2.getMessage());
    }

    @Test
    void aChangedGlobalBatchIsRefusedAtResume(@TempDir Path tmp) throws Exception {
        Path data = TrainerResumeTest.tokens(tmp);
        Path cp = tmp.resolve("cp");
        trainAndCheckpoint(config(3, 1), 2, data, cp);
        RunConfig other = config(3, 1);   // 3 workers x 3 = 9, not 6
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer t = new Trainer(be, other, other.model(97), new TokenCursor(List.of(data), 0, 3), null, null, new PrintStream(new ByteArrayOutputStream()))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.resume(cp, 0, 3));
            assertTrue(e.getMessage().contains("global batch 6") && e.getMessage().contains("= 9"), e.getMessage());
        }
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
        FloatBuffer fb = t.params().values().storage().floatBuffer();
        int off = t.params().values().offset();
        float[] w = new float[t.params().values().size];
        for (int i = 0; i < w.length; i++) w[i] = fb.get(off + i);
        return w;
    }
}
