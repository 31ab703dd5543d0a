package io.lowrank.worker.tensor;

import io.lowrank.worker.model.GradCheck;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.model.TinyConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Op-level checks of the {@link Backend}:
 * <ul>
 *   <li>every backward op against central finite differences of {@code loss = sum(out * R)} in float64,
 *       on fresh random O(1) inputs of odd sizes (relative error ||analytic - fd|| / ||fd||);</li>
 *   <li>gemm in all four transpose combinations on strided sub-matrices against a naive triple loop;</li>
 *   <li>the float32 fast paths ({@code FloatKernels}, 2 kernel threads, odd row counts above 1000 so the
 *       row split really splits) against the float64 generic loops on identical inputs;</li>
 *   <li>the steady-state property: after one training step, forward + backward allocate no backend memory.</li>
 * </ul>
 */
class OpGradientCheckTest {

    /** Central-difference step; truncation error ~1e-12, round-off ~1e-10 for O(1) losses. */
    private static final double H = 1e-6;
    /** Bound on ||analytic - fd|| / ||fd|| for every float64 backward op. */
    private static final double FD_BOUND = 1e-7;
    /** Bound on ||gemm - naive|| / ||naive||: same sums, different order. */
    private static final double GEMM_BOUND_F64 = 1e-13, GEMM_BOUND_F32 = 1e-6;
    /** Bound on ||f32 fast path - f64 reference|| / ||f64 reference||: a few float32 ulps. */
    private static final double F32_BOUND = 1e-5;

    // ---------------------------------------------------------------- helpers

    private static Tensor random(Backend be, SplittableRandom r, double scale, int... shape) {
        Tensor t = be.allocate(shape);
        for (int i = 0; i < t.size; i++) {
            double v;
            do { v = scale * GradCheck.gaussian(r); } while (v == 0.0);
            t.set(i, v);
        }
        return t;
    }

    private static double dot(Tensor a, Tensor b) {
        assertEquals(a.size, b.size);
        double s = 0;
        for (int i = 0; i < a.size; i++) s += a.get(i) * b.get(i);
        return s;
    }

    /** Central finite differences of loss() with respect to every element of x. */
    private static double[] fd(Tensor x, DoubleSupplier loss) {
        double[] g = new double[x.size];
        for (int i = 0; i < x.size; i++) {
            double orig = x.get(i);
            x.set(i, orig + H);
            double lp = loss.getAsDouble();
            x.set(i, orig - H);
            double lm = loss.getAsDouble();
            x.set(i, orig);
            g[i] = (lp - lm) / (2 * H);
        }
        return g;
    }

    private static double[] minus(Tensor a, double[] b) {
        double[] out = a.toDoubleArray();
        for (int i = 0; i < out.length; i++) out[i] -= b[i];
        return out;
    }

    private static double check(String what, double[] analytic, double[] numeric, double bound) {
        double err = GradCheck.relErr(analytic, numeric);
        System.out.printf("[op-check] %-40s rel err %.3e (bound %.0e)%n", what, err, bound);
        assertTrue(GradCheck.norm(numeric) > 1e-6, what + ": reference is (nearly) zero, the check would be vacuous");
        assertTrue(err < bound, what + ": relative error " + err + " >= " + bound);
        return err;
    }

    // ---------------------------------------------------------------- float64 backward ops vs finite differences

    @ParameterizedTest
    @ValueSource(doubles = {1e-6, 0.5})
    void rmsNormBackward(double eps) {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(11);
            int rows = 7, d = 13;
            Tensor x = random(be, r, 1.0, rows, d), w = random(be, r, 1.0, d), R = random(be, r, 1.0, rows, d);
            Tensor out = be.allocate(rows, d), inv = be.allocate(rows);
            DoubleSupplier loss = () -> { be.rmsNorm(x, w, eps, out, inv); return dot(out, R); };

            be.rmsNorm(x, w, eps, out, inv);
            Tensor dx = random(be, r, 1.0, rows, d);            // written, whatever it held
            Tensor dW = random(be, r, 1.0, d);                  // accumulated onto what it held
            double[] dW0 = dW.toDoubleArray();
            be.rmsNormBackward(x, w, inv, R, dx, dW);
            check("rmsNorm dx eps=" + eps, dx.toDoubleArray(), fd(x, loss), FD_BOUND);
            check("rmsNorm dWeight (accumulated) eps=" + eps, minus(dW, dW0), fd(w, loss), FD_BOUND);
        }
    }

    @Test
    void ropeInverseIsTheBackwardOfRope() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(12);
            int batch = 2, seq = 5, heads = 3, hd = 6, half = hd / 2, d = heads * hd, rows = batch * seq;
            Tensor cos = be.allocate(seq, half), sin = be.allocate(seq, half);
            for (int i = 0; i < cos.size; i++) {
                double a = 2 * Math.PI * r.nextDouble();
                cos.set(i, Math.cos(a));
                sin.set(i, Math.sin(a));
            }
            Tensor x = random(be, r, 1.0, rows, d), R = random(be, r, 1.0, rows, d), work = be.allocate(rows, d);
            DoubleSupplier loss = () -> { be.copy(x, work); be.rope(work, seq, heads, cos, sin, false); return dot(work, R); };

            Tensor g = be.allocate(rows, d);
            be.copy(R, g);
            be.rope(g, seq, heads, cos, sin, true);
            check("rope backward (= inverse rope of R)", g.toDoubleArray(), fd(x, loss), FD_BOUND);

            // a rotation: inverse(forward(x)) == x, and forward really moves x
            be.copy(x, work);
            be.rope(work, seq, heads, cos, sin, false);
            assertTrue(GradCheck.relErr(work.toDoubleArray(), x.toDoubleArray()) > 0.1, "rope did not rotate");
            be.rope(work, seq, heads, cos, sin, true);
            check("rope inverse(forward(x)) == x", work.toDoubleArray(), x.toDoubleArray(), 1e-14);
        }
    }

    @Test
    void siluBackward() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(13);
            Tensor h = random(be, r, 2.0, 9, 11), R = random(be, r, 1.0, 9, 11), z = be.allocate(9, 11);
            DoubleSupplier loss = () -> { be.silu(h, z); return dot(z, R); };
            Tensor dh = random(be, r, 1.0, 9, 11);
            be.siluBackward(h, R, dh);
            check("silu dh", dh.toDoubleArray(), fd(h, loss), FD_BOUND);
            // in place (dh aliases dz), as ColaProjection uses it
            Tensor inPlace = be.allocate(9, 11);
            be.copy(R, inPlace);
            be.siluBackward(h, inPlace, inPlace);
            check("silu dh in place", inPlace.toDoubleArray(), dh.toDoubleArray(), 1e-15);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void gatedProductBackward(boolean siluOnGate) {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(14);
            int rows = 7, ff = 15;
            Tensor g = random(be, r, 2.0, rows, ff), u = random(be, r, 1.0, rows, ff), R = random(be, r, 1.0, rows, ff);
            Tensor out = be.allocate(rows, ff);
            DoubleSupplier loss = () -> { be.gatedProduct(g, u, out, siluOnGate); return dot(out, R); };
            Tensor dG = random(be, r, 1.0, rows, ff), dU = random(be, r, 1.0, rows, ff);
            be.gatedProductBackward(g, u, R, dG, dU, siluOnGate);
            check("gatedProduct dGate silu=" + siluOnGate, dG.toDoubleArray(), fd(g, loss), FD_BOUND);
            check("gatedProduct dUp silu=" + siluOnGate, dU.toDoubleArray(), fd(u, loss), FD_BOUND);
        }
    }

    /**
     * seq 5: one causal block; seq 150 with 2 kernel threads: three query/key blocks of
     * Nd4jCpuBackend.CAUSAL_BLOCK (64, 64, 22), so the products that skip the masked half are
     * checked across block edges. The forward output is also checked against plain loops, since a
     * product that dropped keys would still have a consistent gradient.
     */
    @ParameterizedTest
    @CsvSource({"2,5,3,4,1", "1,150,3,4,2"})
    void attentionBackward(int batch, int seq, int heads, int hd, int threads) {
        try (Backend be = new Nd4jCpuBackend(DType.F64, threads)) {
            SplittableRandom r = new SplittableRandom(15);
            int d = heads * hd, rows = batch * seq;
            Tensor q = random(be, r, 1.0, rows, d), k = random(be, r, 1.0, rows, d), v = random(be, r, 1.0, rows, d);
            Tensor R = random(be, r, 1.0, rows, d);
            Tensor probs = be.allocate(batch, heads, seq, seq), out = be.allocate(rows, d);
            DoubleSupplier loss = () -> { be.attention(q, k, v, batch, seq, heads, probs, out); return dot(out, R); };

            loss.getAsDouble();
            double[] expected = new double[rows * d];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < seq; i++) {
                        double[] s = new double[i + 1];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int j = 0; j <= i; j++) {
                            for (int c = 0; c < hd; c++) s[j] += q.get((b * seq + i) * d + h * hd + c) * k.get((b * seq + j) * d + h * hd + c);
                            s[j] /= Math.sqrt(hd);
                            max = Math.max(max, s[j]);
                        }
                        for (int j = 0; j <= i; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                        for (int j = 0; j <= i; j++) {
                            for (int c = 0; c < hd; c++) expected[(b * seq + i) * d + h * hd + c] += s[j] / sum * v.get((b * seq + j) * d + h * hd + c);
                        }
                    }
                }
            }
            check("attention out vs plain loops", out.toDoubleArray(), expected, 1e-13);
            // probs: causal rows summing to one
            for (int bh = 0; bh < batch * heads; bh++) {
                for (int i = 0; i < seq; i++) {
                    double sum = 0;
                    for (int j = 0; j < seq; j++) {
                        double p = probs.get((bh * seq + i) * seq + j);
                        if (j > i) assertEquals(0.0, p, "masked probability at (" + i + "," + j + ")");
                        else assertTrue(p > 0, "causal probability must be positive");
                        sum += p;
                    }
                    assertEquals(1.0, sum, 1e-14);
                }
            }
            Tensor dq = random(be, r, 1.0, rows, d), dk = random(be, r, 1.0, rows, d), dv = random(be, r, 1.0, rows, d);
            be.attentionBackward(q, k, v, probs, R, batch, seq, heads, dq, dk, dv);
            check("attention dq", dq.toDoubleArray(), fd(q, loss), FD_BOUND);
            check("attention dk", dk.toDoubleArray(), fd(k, loss), FD_BOUND);
            check("attention dv", dv.toDoubleArray(), fd(v, loss), FD_BOUND);
        }
    }

    @Test
    void crossEntropyGradient() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(16);
            int rows = 9, vocab = 17;
            Tensor logits = random(be, r, 2.0, rows, vocab), work = be.allocate(rows, vocab);
            int[] targets = new int[rows];
            for (int i = 0; i < rows; i++) targets[i] = r.nextInt(vocab);
            targets[4] = LlamaModel.IGNORE_INDEX;
            DoubleSupplier loss = () -> { be.copy(logits, work); return be.crossEntropy(work, targets, LlamaModel.IGNORE_INDEX, 1.0); };

            // the loss value against a plain log-sum-exp
            double expected = 0;
            for (int i = 0; i < rows; i++) {
                if (targets[i] == LlamaModel.IGNORE_INDEX) continue;
                double s = 0;
                for (int j = 0; j < vocab; j++) s += Math.exp(logits.get(i * vocab + j));
                expected += Math.log(s) - logits.get(i * vocab + targets[i]);
            }
            double got = loss.getAsDouble();
            assertEquals(expected, got, 1e-13 * Math.abs(expected), "cross-entropy value");

            double gradScale = 0.37;
            be.copy(logits, work);
            be.crossEntropy(work, targets, LlamaModel.IGNORE_INDEX, gradScale);
            double[] analytic = work.toDoubleArray();
            double[] numeric = fd(logits, loss);
            for (int i = 0; i < numeric.length; i++) numeric[i] *= gradScale;
            for (int j = 0; j < vocab; j++) assertEquals(0.0, analytic[4 * vocab + j], "ignored row must have zero gradient");
            check("crossEntropy dlogits (gradScale 0.37)", analytic, numeric, FD_BOUND);
        }
    }

    @Test
    void embeddingBackwardWithRepeatedIds() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(17);
            int vocab = 11, d = 7;
            int[] ids = {3, 0, 3, 9, 5, 3, 10, 0, 7, 9, 3, 2, 5};   // repeats; rows 1, 4, 6, 8 unused
            Tensor table = random(be, r, 1.0, vocab, d), R = random(be, r, 1.0, ids.length, d), out = be.allocate(ids.length, d);
            DoubleSupplier loss = () -> { be.embedding(table, ids, out); return dot(out, R); };
            loss.getAsDouble();
            for (int n = 0; n < ids.length; n++) {
                for (int j = 0; j < d; j++) assertEquals(table.get(ids[n] * d + j), out.get(n * d + j));
            }
            Tensor dTable = random(be, r, 1.0, vocab, d);
            double[] dTable0 = dTable.toDoubleArray();
            be.embeddingBackward(dTable, ids, R);
            check("embedding dTable (accumulated)", minus(dTable, dTable0), fd(table, loss), FD_BOUND);
        }
    }

    @ParameterizedTest
    @CsvSource({"false,false,F64", "false,true,F64", "true,false,F64", "true,true,F64",
                "false,false,F32", "false,true,F32", "true,false,F32", "true,true,F32"})
    void gemmOnStridedSubMatrices(boolean transA, boolean transB, String dtype) {
        DType dt = DType.valueOf(dtype);
        try (Backend be = new Nd4jCpuBackend(dt, 2)) {
            SplittableRandom r = new SplittableRandom(18);
            int m = 7, n = 5, k = 9;
            double alpha = 0.7, beta = -0.3;
            // stored (untransposed) shapes and strided placement inside larger buffers
            int aRows = transA ? k : m, aCols = transA ? m : k, lda = aCols + 3, offA = 5;
            int bRows = transB ? n : k, bCols = transB ? k : n, ldb = bCols + 2, offB = 3;
            int ldc = n + 4, offC = 6;
            Tensor a = random(be, r, 1.0, offA + aRows * lda + 4);
            Tensor b = random(be, r, 1.0, offB + bRows * ldb + 1);
            Tensor c = random(be, r, 1.0, offC + m * ldc + 2);
            double[] c0 = c.toDoubleArray();

            be.gemm(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);

            double[] expected = c0.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = transA ? a.get(offA + p * lda + i) : a.get(offA + i * lda + p);
                        double bv = transB ? b.get(offB + j * ldb + p) : b.get(offB + p * ldb + j);
                        s += av * bv;
                    }
                    int ci = offC + i * ldc + j;
                    expected[ci] = alpha * s + beta * c0[ci];
                }
            }
            double[] got = c.toDoubleArray();
            // everything outside the m x n window (offsets, padding columns, tail) is untouched
            for (int i = 0; i < got.length; i++) {
                int rel = i - offC;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside) assertEquals(c0[i], got[i], "gemm wrote outside C at " + i);
            }
            check("gemm " + dtype + " transA=" + transA + " transB=" + transB, got, expected,
                    dt == DType.F64 ? GEMM_BOUND_F64 : GEMM_BOUND_F32);
        }
    }

    // ---------------------------------------------------------------- float32 fast paths vs the float64 loops

    /** The same values (rounded to float once) in a float32 and a float64 tensor. */
    private static Tensor[] pair(Backend f32, Backend f64, SplittableRandom r, double scale, int... shape) {
        Tensor a = f32.allocate(shape), b = f64.allocate(shape);
        for (int i = 0; i < a.size; i++) {
            float v;
            do { v = (float) (scale * GradCheck.gaussian(r)); } while (v == 0f);
            a.set(i, v);
            b.set(i, v);
        }
        return new Tensor[]{a, b};
    }

    private static void agree(String what, Tensor f32, Tensor f64) {
        assertEquals(DType.F32, f32.dtype);
        assertEquals(DType.F64, f64.dtype);
        double[] a = f32.toDoubleArray();
        for (double v : a) assertTrue(Double.isFinite(v), what + ": non-finite float32 output");
        check("f32 vs f64 " + what, a, f64.toDoubleArray(), F32_BOUND);
    }

    @Test
    void float32FastPathsAgreeWithFloat64Reference() {
        try (Backend f32 = new Nd4jCpuBackend(DType.F32, 2); Backend f64 = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(19);
            int rows = 1001, ff = 37;   // odd: the 2-way split gives unequal halves

            // silu / siluBackward, with a few saturating inputs for the expf range clamps
            Tensor[] h = pair(f32, f64, r, 3.0, rows, ff), dz = pair(f32, f64, r, 1.0, rows, ff);
            float[] extremes = {-100f, -89f, -60f, -20f, 20f, 60f, 89f, 100f};
            for (int i = 0; i < extremes.length; i++) { h[0].set(1000 * i + 17, extremes[i]); h[1].set(1000 * i + 17, extremes[i]); }
            Tensor z32 = f32.allocate(rows, ff), z64 = f64.allocate(rows, ff);
            f32.silu(h[0], z32);
            f64.silu(h[1], z64);
            agree("silu", z32, z64);
            Tensor dh32 = f32.allocate(rows, ff), dh64 = f64.allocate(rows, ff);
            f32.siluBackward(h[0], dz[0], dh32);
            f64.siluBackward(h[1], dz[1], dh64);
            agree("siluBackward", dh32, dh64);

            // gatedProduct (+ backward), both gate activations
            Tensor[] u = pair(f32, f64, r, 1.0, rows, ff), dOut = pair(f32, f64, r, 1.0, rows, ff);
            for (boolean silu : new boolean[]{true, false}) {
                Tensor o32 = f32.allocate(rows, ff), o64 = f64.allocate(rows, ff);
                f32.gatedProduct(h[0], u[0], o32, silu);
                f64.gatedProduct(h[1], u[1], o64, silu);
                agree("gatedProduct silu=" + silu, o32, o64);
                Tensor dg32 = f32.allocate(rows, ff), dg64 = f64.allocate(rows, ff);
                Tensor du32 = f32.allocate(rows, ff), du64 = f64.allocate(rows, ff);
                f32.gatedProductBackward(h[0], u[0], dOut[0], dg32, du32, silu);
                f64.gatedProductBackward(h[1], u[1], dOut[1], dg64, du64, silu);
                agree("gatedProductBackward dGate silu=" + silu, dg32, dg64);
                agree("gatedProductBackward dUp silu=" + silu, du32, du64);
            }

            // rmsNorm (rows split across threads)
            int d = 63;
            Tensor[] x = pair(f32, f64, r, 2.0, rows, d), w = pair(f32, f64, r, 1.0, d);
            Tensor n32 = f32.allocate(rows, d), n64 = f64.allocate(rows, d), i32 = f32.allocate(rows), i64 = f64.allocate(rows);
            f32.rmsNorm(x[0], w[0], 1e-6, n32, i32);
            f64.rmsNorm(x[1], w[1], 1e-6, n64, i64);
            agree("rmsNorm out", n32, n64);
            agree("rmsNorm invRms", i32, i64);

            // crossEntropy (rows split across threads, partial sums combined), ignored rows included
            int vocab = 257;
            Tensor[] logits = pair(f32, f64, r, 3.0, rows, vocab);
            int[] targets = new int[rows];
            int count = 0;
            for (int i = 0; i < rows; i++) {
                targets[i] = i % 7 == 3 || i == rows - 1 ? LlamaModel.IGNORE_INDEX : r.nextInt(vocab);
                if (targets[i] != LlamaModel.IGNORE_INDEX) count++;
            }
            double loss32 = f32.crossEntropy(logits[0], targets, LlamaModel.IGNORE_INDEX, 1.0 / count);
            double loss64 = f64.crossEntropy(logits[1], targets, LlamaModel.IGNORE_INDEX, 1.0 / count);
            double lossErr = Math.abs(loss32 - loss64) / Math.abs(loss64);
            System.out.printf("[op-check] %-40s rel err %.3e (bound %.0e)%n", "f32 vs f64 crossEntropy loss", lossErr, 1e-6);
            assertTrue(lossErr < 1e-6, "cross-entropy loss: f32 " + loss32 + " vs f64 " + loss64);
            agree("crossEntropy dlogits", logits[0], logits[1]);

            // attention: float softmax and softmax backward
            int batch = 3, seq = 37, heads = 5, hd = 8, dm = heads * hd, arows = batch * seq;
            Tensor[] q = pair(f32, f64, r, 1.0, arows, dm), k = pair(f32, f64, r, 1.0, arows, dm), v = pair(f32, f64, r, 1.0, arows, dm);
            Tensor[] dA = pair(f32, f64, r, 1.0, arows, dm);
            Tensor p32 = f32.allocate(batch, heads, seq, seq), p64 = f64.allocate(batch, heads, seq, seq);
            Tensor a32 = f32.allocate(arows, dm), a64 = f64.allocate(arows, dm);
            f32.attention(q[0], k[0], v[0], batch, seq, heads, p32, a32);
            f64.attention(q[1], k[1], v[1], batch, seq, heads, p64, a64);
            agree("attention probs", p32, p64);
            agree("attention out", a32, a64);
            Tensor[] dq = {f32.allocate(arows, dm), f64.allocate(arows, dm)}, dk = {f32.allocate(arows, dm), f64.allocate(arows, dm)};
            Tensor[] dv = {f32.allocate(arows, dm), f64.allocate(arows, dm)};
            f32.attentionBackward(q[0], k[0], v[0], p32, dA[0], batch, seq, heads, dq[0], dk[0], dv[0]);
            f64.attentionBackward(q[1], k[1], v[1], p64, dA[1], batch, seq, heads, dq[1], dk[1], dv[1]);
            agree("attentionBackward dq", dq[0], dq[1]);
            agree("attentionBackward dk", dk[0], dk[1]);
            agree("attentionBackward dv", dv[0], dv[1]);
        }
    }

    /**
     * A target logit more than ~87.3 below its row's max: expf underflows to 0, so a float32 path that
     * computed {@code Math.log(sum) - Math.log(target)} would give +Infinity where the float64 loop
     * (log-sum-exp minus the logit) is finite. The float32 paths take -log softmax[t] as
     * {@code log(sum) + max - logit[t]} (the logit read before it is overwritten by its exp); this
     * keeps them that way.
     */
    @Test
    void float32CrossEntropyIsFiniteForAFarBelowMaxTarget() {
        try (Backend f32 = new Nd4jCpuBackend(DType.F32, 2); Backend f64 = new Nd4jCpuBackend(DType.F64, 1)) {
            double[] v = {100, 0, 1, 2,   0, 0.5, -1, 3,   95, 0, 0, 0};
            int[] targets = {1, 3, 1};
            Tensor l32 = f32.allocate(3, 4), l64 = f64.allocate(3, 4);
            l32.copyFrom(v);
            l64.copyFrom(v);
            double loss32 = f32.crossEntropy(l32, targets, LlamaModel.IGNORE_INDEX, 1.0);
            double loss64 = f64.crossEntropy(l64, targets, LlamaModel.IGNORE_INDEX, 1.0);
            assertTrue(Double.isFinite(loss64));
            assertEquals(loss64, loss32, 1e-6 * loss64, "float32 cross-entropy of a confidently wrong row");
            agree("crossEntropy dlogits, far-below-max target", l32, l64);
        }
    }

    // ---------------------------------------------------------------- steady state: no allocation per step

    @ParameterizedTest
    @CsvSource({"full,false,F32", "cola,false,F32", "cola,true,F32", "full,false,F64", "cola,true,F64"})
    void forwardBackwardAllocateNothingAfterTheFirstStep(String type, boolean onlyLrAct, String dtype) {
        ModelConfig c = TinyConfigs.of(LayerType.parse(type), onlyLrAct);
        try (Backend be = new Nd4jCpuBackend(DType.valueOf(dtype), 2)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(20);
            for (int i = 0; i < ps.values().size; i++) ps.values().set(i, 0.3 * GradCheck.gaussian(r));
            int batch = 3, seq = 7;
            LlamaModel m = new LlamaModel(be, c, ps, batch, seq);
            int[] in = new int[batch * seq], tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            tg[2] = LlamaModel.IGNORE_INDEX;

            m.forwardMean(in, tg, 1.0);
            m.backward();
            long allocations = be.memory().allocations(), live = be.memory().liveBytes();
            for (int step = 0; step < 3; step++) {
                for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
                double loss = m.forwardMean(in, tg, 1.0);
                m.backward();
                assertTrue(Double.isFinite(loss));
                assertEquals(allocations, be.memory().allocations(), "step " + step + " allocated backend memory");
                assertEquals(live, be.memory().liveBytes(), "step " + step + " changed live bytes");
            }
        }
    }
}
