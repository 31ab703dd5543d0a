package io.lowrank.worker.tensor;

import io.lowrank.nativekernels.NativeLibrary;
import io.lowrank.worker.model.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused element-wise ops of the float32 backend on BOTH paths: the native kernels
 * ({@code new Nd4jCpuBackend(F32, 2, true)}, when the library loads here) and the FloatKernels Java
 * loops ({@code new Nd4jCpuBackend(F32, 2, false)}), each against the float64 generic loops
 * (Kernels) on the same float-representable inputs, and against each other. Fresh Gaussian inputs
 * (never zero), odd shapes: one row, widths not multiples of 8 or 16, over 1000 rows so that the
 * row split really splits.
 *
 * <p>Bounds ||out - ref|| / ||ref||: native vs float64 {@value #NATIVE_BOUND} (the C++ tests' 1e-6
 * plus the float64 path's own rounding of intermediates); Java vs float64 {@value #JAVA_BOUND} (the
 * float32 bound of OpGradientCheckTest); native vs Java {@value #JAVA_BOUND}. The cross-entropy
 * loss: the same bounds on |loss - ref| / |ref|.
 */
class FusedOpsTest {
    private static final double NATIVE_BOUND = 2e-6, JAVA_BOUND = 1e-5;

    private static float[] randn(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do { v = (float) (scale * GradCheck.gaussian(r)); } while (v == 0f);
            a[i] = v;
        }
        return a;
    }

    private static Tensor tensor(Backend be, float[] a, int... shape) {
        Tensor t = be.allocate(shape);
        t.copyFrom(a);
        return t;
    }

    /**
     * Runs op on float64, float32-Java and (if it loads) float32-native backends; compares every
     * output array it returns.
     */
    private static void compare(String what, Function<Backend, double[][]> op) {
        double[][] ref, java, nat = null;
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) { ref = op.apply(be); }
        try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F32, 2, false)) {
            assertFalse(be.nativeFused());
            java = op.apply(be);
        }
        boolean haveNative = NativeLibrary.isAvailable();
        if (haveNative) {
            try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F32, 2, true)) {
                assertTrue(be.nativeFused());
                nat = op.apply(be);
            }
        }
        for (int k = 0; k < ref.length; k++) {
            String w = what + " output " + k;
            assertTrue(GradCheck.norm(ref[k]) > 0, w + ": reference is zero");
            double ej = GradCheck.relErr(java[k], ref[k]);
            assertTrue(ej <= JAVA_BOUND, w + ": java vs float64 " + ej);
            if (haveNative) {
                double en = GradCheck.relErr(nat[k], ref[k]), enj = GradCheck.relErr(nat[k], java[k]);
                System.out.printf("[fused] %-48s native %.2e java %.2e native-java %.2e%n", w, en, ej, enj);
                assertTrue(en <= NATIVE_BOUND, w + ": native vs float64 " + en);
                assertTrue(enj <= JAVA_BOUND, w + ": native vs java " + enj);
            } else {
                System.out.printf("[fused] %-48s java %.2e (native kernels unavailable: %s)%n", w, ej, NativeLibrary.unavailableReason());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,5", "1003,37", "17,129"})
    void siluForwardAndBackward(int rows, int cols) {
        SplittableRandom r = new SplittableRandom(rows * 7L + cols);
        float[] h = randn(r, rows * cols, 3), dz = randn(r, rows * cols, 1);
        compare("silu [" + rows + "x" + cols + "]", be -> {
            Tensor th = tensor(be, h, rows, cols), z = be.allocate(rows, cols), tdz = tensor(be, dz, rows, cols), dh = be.allocate(rows, cols);
            be.silu(th, z);
            be.siluBackward(th, tdz, dh);
            return new double[][]{z.toDoubleArray(), dh.toDoubleArray()};
        });
    }

    @ParameterizedTest
    @CsvSource({"1,7,true", "1001,130,true", "1001,130,false", "3,17,false"})
    void gatedProductForwardAndBackward(int rows, int cols, boolean silu) {
        SplittableRandom r = new SplittableRandom(rows * 11L + cols);
        float[] g = randn(r, rows * cols, 3), u = randn(r, rows * cols, 1), dy = randn(r, rows * cols, 1);
        compare("gatedProduct silu=" + silu + " [" + rows + "x" + cols + "]", be -> {
            Tensor tg = tensor(be, g, rows, cols), tu = tensor(be, u, rows, cols), ty = tensor(be, dy, rows, cols);
            Tensor out = be.allocate(rows, cols), dg = be.allocate(rows, cols), du = be.allocate(rows, cols);
            be.gatedProduct(tg, tu, out, silu);
            be.gatedProductBackward(tg, tu, ty, dg, du, silu);
            return new double[][]{out.toDoubleArray(), dg.toDoubleArray(), du.toDoubleArray()};
        });
    }

    /** ELAS: y2 = ReLU(y1)^2, then dy1 = 2 ReLU(y1) dy2 in place over dy2 (as ElasMlp calls it). */
    @ParameterizedTest
    @CsvSource({"1,5", "1003,37", "17,129"})
    void reluSquareForwardAndBackward(int rows, int cols) {
        SplittableRandom r = new SplittableRandom(rows * 29L + cols);
        float[] x = randn(r, rows * cols, 2), dy = randn(r, rows * cols, 1);
        compare("reluSquare [" + rows + "x" + cols + "]", be -> {
            Tensor tx = tensor(be, x, rows, cols), y = be.allocate(rows, cols), g = tensor(be, dy, rows, cols);
            be.reluSquare(tx, y);
            be.reluSquareBackward(tx, g, g);
            Tensor inPlace = tensor(be, x, rows, cols);
            be.reluSquare(inPlace, inPlace);
            return new double[][]{y.toDoubleArray(), g.toDoubleArray(), inPlace.toDoubleArray()};
        });
    }

    /** q rotated forward, an upstream gradient rotated back (DecoderBlock's forward and backward), on the model's table. */
    @ParameterizedTest
    @CsvSource({"1,1,1,2", "2,37,3,6", "3,65,2,34", "4,257,2,18"})
    void ropeForwardAndInverse(int batch, int seq, int heads, int hd) {
        SplittableRandom r = new SplittableRandom(batch * 31L + seq * 7L + hd);
        int rows = batch * seq, d = heads * hd, half = hd / 2;
        float[] q = randn(r, rows * d, 1.5), g = randn(r, rows * d, 1);
        float[] cos = new float[seq * half], sin = new float[seq * half];
        for (int t = 0; t < seq; t++) {
            for (int i = 0; i < half; i++) {
                double a = t / Math.pow(10000, 2.0 * i / hd);
                cos[t * half + i] = (float) Math.cos(a);
                sin[t * half + i] = (float) Math.sin(a);
            }
        }
        compare("rope b" + batch + " s" + seq + " h" + heads + " hd" + hd, be -> {
            Tensor tq = tensor(be, q, rows, d), tg = tensor(be, g, rows, d), tc = tensor(be, cos, seq, half), ts = tensor(be, sin, seq, half);
            be.rope(tq, seq, heads, tc, ts, false);
            be.rope(tg, seq, heads, tc, ts, true);
            Tensor back = tensor(be, q, rows, d);
            be.rope(back, seq, heads, tc, ts, false);
            be.rope(back, seq, heads, tc, ts, true);
            for (int i = 0; i < rows * d; i++) assertEquals(q[i], back.get(i), 1e-5 * (1 + Math.abs(q[i])), "inverse(forward(q)) == q at " + i);
            return new double[][]{tq.toDoubleArray(), tg.toDoubleArray()};
        });
    }

    @ParameterizedTest
    @CsvSource({"1,9", "1003,67", "130,512"})
    void rmsNormForwardAndBackward(int rows, int d) {
        SplittableRandom r = new SplittableRandom(rows * 13L + d);
        float[] x = randn(r, rows * d, 2), w = randn(r, d, 1), g = randn(r, rows * d, 1), dw0 = randn(r, d, 0.5);
        compare("rmsNorm [" + rows + "x" + d + "]", be -> {
            Tensor tx = tensor(be, x, rows, d), tw = tensor(be, w, d), out = be.allocate(rows, d), inv = be.allocate(rows);
            Tensor tg = tensor(be, g, rows, d), dx = be.allocate(rows, d), dw = tensor(be, dw0, d);
            be.rmsNorm(tx, tw, 1e-6, out, inv);
            be.rmsNormBackward(tx, tw, inv, tg, dx, dw);   // dWeight accumulates onto dw0
            return new double[][]{out.toDoubleArray(), inv.toDoubleArray(), dx.toDoubleArray(), dw.toDoubleArray()};
        });
    }

    @ParameterizedTest
    @CsvSource({"5,2", "1003,301", "7,32000", "1,3"})
    void crossEntropyLossAndGradient(int rows, int vocab) {
        SplittableRandom r = new SplittableRandom(rows * 17L + vocab);
        float[] x = randn(r, rows * vocab, 3);
        int[] t = new int[rows];
        for (int i = 0; i < rows; i++) t[i] = i % 4 == 3 ? -100 : r.nextInt(vocab);
        compare("crossEntropy [" + rows + "x" + vocab + "]", be -> {
            Tensor logits = tensor(be, x, rows, vocab);
            double loss = be.crossEntropy(logits, t, -100, 1.0 / rows);
            for (int i = 3; i < rows; i += 4) {
                for (int j = 0; j < vocab; j++) assertEquals(0.0, logits.get(i * vocab + j), "ignored row " + i);
            }
            return new double[][]{logits.toDoubleArray(), {loss}};
        });
    }

    @Test
    void adamwTwoSteps() {
        SplittableRandom r = new SplittableRandom(19);
        int n = 10007;
        float[] p = randn(r, n, 1), g1 = randn(r, n, 0.1), g2 = randn(r, n, 0.1);
        compare("adamw n=" + n + " steps 1, 2", be -> {
            Tensor tp = tensor(be, p, n), m = be.allocate(n), v = be.allocate(n);
            be.adamw(tp, tensor(be, g1, n), m, v, 0.05, 0.9, 0.999, 1e-8, 0.1, 1);
            be.adamw(tp, tensor(be, g2, n), m, v, 0.05, 0.9, 0.999, 1e-8, 0.1, 2);
            double[] delta = tp.toDoubleArray();
            for (int i = 0; i < n; i++) delta[i] -= p[i];
            return new double[][]{tp.toDoubleArray(), m.toDoubleArray(), v.toDoubleArray(), delta};
        });
    }

    @ParameterizedTest
    @CsvSource({"2,37,3,6", "1,1,2,4", "3,65,2,8"})
    void attentionSoftmaxForwardAndBackward(int batch, int seq, int heads, int hd) {
        SplittableRandom r = new SplittableRandom(batch * 23L + seq);
        int rows = batch * seq, d = heads * hd;
        float[] q = randn(r, rows * d, 1.5), k = randn(r, rows * d, 1.5), v = randn(r, rows * d, 1), dout = randn(r, rows * d, 1);
        compare("attention b" + batch + " s" + seq + " h" + heads + " hd" + hd, be -> {
            Tensor tq = tensor(be, q, rows, d), tk = tensor(be, k, rows, d), tv = tensor(be, v, rows, d), to = tensor(be, dout, rows, d);
            Tensor probs = be.allocate(batch * heads * seq * seq), out = be.allocate(rows, d);
            Tensor dq = be.allocate(rows, d), dk = be.allocate(rows, d), dv = be.allocate(rows, d);
            be.attention(tq, tk, tv, batch, seq, heads, probs, out);
            be.attentionBackward(tq, tk, tv, probs, to, batch, seq, heads, dq, dk, dv);
            if (seq == 1) return new double[][]{probs.toDoubleArray(), out.toDoubleArray(), dv.toDoubleArray()};  // dq = dk = 0 with one key
            return new double[][]{probs.toDoubleArray(), out.toDoubleArray(), dq.toDoubleArray(), dk.toDoubleArray(), dv.toDoubleArray()};
        });
    }
}
