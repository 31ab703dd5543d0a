package io.lowrank.worker.tensor;

import io.lowrank.worker.model.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ELAS ops of the {@link Backend} (methods.md section 6) against plain dense references written
 * here: the 2:4 mask by sorting each group of 4 (magnitude descending, index ascending), the sparse
 * products as triple loops over the masked dense matrix. Odd shapes (one row, columns that leave a
 * tail of 1..3, fewer than 4 columns), never-zero random inputs, float64 and float32 (2 kernel
 * threads, over 1000 rows so the row split really splits).
 */
class Sparse24OpsTest {

    /** float64: the same sums in another order. float32: float accumulation against a double reference. */
    private static final double BOUND_F64 = 1e-13, BOUND_F32 = 2e-6;

    private static Tensor random(Backend be, SplittableRandom r, int... shape) {
        Tensor t = be.allocate(shape);
        for (int i = 0; i < t.size; i++) {
            double v;
            do { v = (float) GradCheck.gaussian(r); } while (v == 0.0);   // float-representable, never zero
            t.set(i, v);
        }
        return t;
    }

    /** The 2:4 mask of a dense [rows, cols] matrix, computed by sorting each group. */
    static boolean[] referenceMask(double[] x, int rows, int cols) {
        boolean[] keep = new boolean[x.length];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g + 4 <= cols; g += 4) {
                final int o = r * cols + g;
                Integer[] idx = {0, 1, 2, 3};
                Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -Math.abs(x[o + i])).thenComparingInt(i -> i));
                keep[o + idx[0]] = true;
                keep[o + idx[1]] = true;
            }
            for (int c = cols / 4 * 4; c < cols; c++) keep[r * cols + c] = true;   // the dense tail
        }
        return keep;
    }

    private static double[] masked(double[] x, boolean[] keep) {
        double[] m = x.clone();
        for (int i = 0; i < m.length; i++) if (!keep[i]) m[i] = 0.0;
        return m;
    }

    private static double bound(Backend be) { return be.dtype() == DType.F64 ? BOUND_F64 : BOUND_F32; }

    private static Backend backend(String dtype) {
        return dtype.equals("F64") ? new Nd4jCpuBackend(DType.F64, 1) : new Nd4jCpuBackend(DType.F32, 2);
    }

    private static void close(String what, double[] ours, double[] ref, double bound) {
        assertTrue(GradCheck.norm(ref) > 0, what + ": reference is zero");
        double err = GradCheck.relErr(ours, ref);
        System.out.printf("[sparse24] %-45s rel err %.3e (bound %.0e)%n", what, err, bound);
        assertTrue(err < bound, what + ": relative error " + err + " >= " + bound);
    }

    @ParameterizedTest
    @CsvSource({"F64,1,1,1", "F64,1,3,2", "F64,1,4,3", "F64,1,7,5", "F64,5,22,7", "F64,3,37,9", "F64,2,64,1",
            "F32,1,1,1", "F32,1,3,2", "F32,1,4,3", "F32,1,7,5", "F32,5,22,7", "F32,3,37,9", "F32,1001,37,5", "F32,1003,130,17"})
    void pruneDecompressAndProductsMatchDenseReferences(String dtype, int rows, int cols, int n) {
        try (Backend be = backend(dtype)) {
            SplittableRandom r = new SplittableRandom(rows * 31L + cols * 7L + n);
            String shape = dtype + " [" + rows + "x" + cols + "] n=" + n;
            Tensor x = random(be, r, rows, cols);
            Tensor values = be.allocate(rows, Backend.values24Cols(cols)), meta = be.allocate(rows, Backend.meta24Cols(cols));
            be.prune24(x, values, meta);

            double[] xs = x.toDoubleArray();
            boolean[] keep = referenceMask(xs, rows, cols);
            double[] s = masked(xs, keep);

            // decompress(prune(x)) is x with the dropped entries zeroed: exact
            Tensor back = random(be, r, rows, cols);                      // garbage to be overwritten
            be.decompress24(values, meta, back);
            assertArrayEquals(s, back.toDoubleArray(), 0.0, shape + ": decompress24(prune24(x))");
            int kept = 0;
            for (boolean k : keep) if (k) kept++;
            assertEquals(rows * Backend.values24Cols(cols), kept, shape + ": kept count");

            // spmm24: Y = S W (+ beta Y)
            Tensor w = random(be, r, cols, n);
            double[] ws = w.toDoubleArray();
            for (double beta : new double[]{0.0, 1.0}) {
                Tensor y = random(be, r, rows, n);
                double[] ref = y.toDoubleArray();
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < n; j++) {
                        double acc = 0;
                        for (int c = 0; c < cols; c++) acc += s[i * cols + c] * ws[c * n + j];
                        ref[i * n + j] = beta * ref[i * n + j] + acc;
                    }
                }
                be.spmm24(values, meta, w, y, beta);
                close(shape + " spmm24 beta=" + beta, y.toDoubleArray(), ref, bound(be));
            }

            // spmm24T: dW = S^T G (+ beta dW)
            Tensor g = random(be, r, rows, n);
            double[] gs = g.toDoubleArray();
            for (double beta : new double[]{0.0, 1.0}) {
                Tensor dw = random(be, r, cols, n);
                double[] ref = dw.toDoubleArray();
                for (int c = 0; c < cols; c++) {
                    for (int j = 0; j < n; j++) {
                        double acc = 0;
                        for (int i = 0; i < rows; i++) acc += s[i * cols + c] * gs[i * n + j];
                        ref[c * n + j] = beta * ref[c * n + j] + acc;
                    }
                }
                be.spmm24T(values, meta, g, dw, beta);
                close(shape + " spmm24T beta=" + beta, dw.toDoubleArray(), ref, bound(be));
            }
        }
    }

    /** Equal magnitudes: the lower index wins, the sign does not matter, -0 equals +0. */
    @Test
    void tiesGoToTheLowerIndex() {
        double[][] groups = {
                {1, -1, 1, 0.5},       // keep 0, 1
                {0.5, 2, -2, 2},       // keep 1, 2
                {3, 3, 3, 3},          // keep 0, 1
                {0, 0, 0, 0},          // keep 0, 1 (a ReLU^2 group of zeros)
                {-0.0, 0.0, 1, -0.0},  // keep 0, 2
                {1, 2, 3, 4},          // keep 2, 3
                {4, 1, 1, 4},          // keep 0, 3
        };
        int[][] expected = {{0, 1}, {1, 2}, {0, 1}, {0, 1}, {0, 2}, {2, 3}, {0, 3}};
        for (String dtype : new String[]{"F64", "F32"}) {
            try (Backend be = backend(dtype)) {
                int cols = 4 * groups.length + 1;                      // one row, all groups, a tail of 1
                Tensor x = be.allocate(1, cols);
                for (int g = 0; g < groups.length; g++) for (int i = 0; i < 4; i++) x.set(4 * g + i, groups[g][i]);
                x.set(cols - 1, -7.0);
                Tensor values = be.allocate(1, Backend.values24Cols(cols)), meta = be.allocate(1, Backend.meta24Cols(cols));
                be.prune24(x, values, meta);
                Tensor back = be.allocate(1, cols);
                be.decompress24(values, meta, back);
                for (int g = 0; g < groups.length; g++) {
                    for (int i = 0; i < 4; i++) {
                        boolean kept = i == expected[g][0] || i == expected[g][1];
                        assertEquals(kept ? groups[g][i] : 0.0, back.get(4 * g + i), 0.0, dtype + " group " + g + " position " + i);
                    }
                    assertEquals(groups[g][expected[g][0]], values.get(2 * g), 0.0);
                    assertEquals(groups[g][expected[g][1]], values.get(2 * g + 1), 0.0);
                }
                assertEquals(-7.0, values.get(2 * groups.length), 0.0, "tail");
                assertEquals(-7.0, back.get(cols - 1), 0.0, "tail");
            }
        }
    }

    /** The float32 fast paths choose the same positions as the float64 loops and agree in value. */
    @Test
    void float32FastPathsAgreeWithFloat64Loops() {
        try (Backend f32 = new Nd4jCpuBackend(DType.F32, 2); Backend f64 = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(3);
            int rows = 1001, cols = 39, n = 11;
            Tensor x32 = random(f32, r, rows, cols), x64 = f64.allocate(rows, cols);
            x64.copyFrom(x32.toDoubleArray());
            int vc = Backend.values24Cols(cols), mc = Backend.meta24Cols(cols);
            Tensor v32 = f32.allocate(rows, vc), m32 = f32.allocate(rows, mc), v64 = f64.allocate(rows, vc), m64 = f64.allocate(rows, mc);
            f32.prune24(x32, v32, m32);
            f64.prune24(x64, v64, m64);
            assertArrayEquals(m64.toDoubleArray(), m32.toDoubleArray(), 0.0, "positions");
            assertArrayEquals(v64.toDoubleArray(), v32.toDoubleArray(), 0.0, "kept values");

            // ReLU^2 and its backward: identical float operations (a double product of floats rounds like the float product)
            Tensor dy32 = random(f32, r, rows, cols), dy64 = f64.allocate(rows, cols);
            dy64.copyFrom(dy32.toDoubleArray());
            Tensor y32 = f32.allocate(rows, cols), y64 = f64.allocate(rows, cols);
            f32.reluSquare(x32, y32);
            f64.reluSquare(x64, y64);
            assertArrayEquals(toFloat(y64), y32.toFloatArray(), "reluSquare");
            f32.reluSquareBackward(x32, dy32, y32);
            f64.reluSquareBackward(x64, dy64, y64);
            assertArrayEquals(toFloat(y64), y32.toFloatArray(), "reluSquareBackward");
        }
    }

    private static float[] toFloat(Tensor t) { return t.toFloatArray(); }

    /** dx = 2 ReLU(x) dy against central differences of sum(ReLU(x)^2 * R), float64. */
    @Test
    void reluSquareBackwardMatchesFiniteDifferences() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            SplittableRandom r = new SplittableRandom(8);
            int rows = 7, cols = 13;
            Tensor x = random(be, r, rows, cols), rr = random(be, r, rows, cols), y = be.allocate(rows, cols), dx = be.allocate(rows, cols);
            be.reluSquareBackward(x, rr, dx);
            double h = 1e-6;
            double[] fd = new double[x.size];
            for (int i = 0; i < x.size; i++) {
                double orig = x.get(i);
                x.set(i, orig + h);
                be.reluSquare(x, y);
                double lp = be.dot(y, rr);
                x.set(i, orig - h);
                be.reluSquare(x, y);
                double lm = be.dot(y, rr);
                x.set(i, orig);
                fd[i] = (lp - lm) / (2 * h);
            }
            close("reluSquareBackward vs fd", dx.toDoubleArray(), fd, 1e-8);
        }
    }

    @Test
    void shapesAreChecked() {
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            Tensor x = be.allocate(3, 10);
            Tensor values = be.allocate(3, Backend.values24Cols(10)), meta = be.allocate(3, Backend.meta24Cols(10));
            assertEquals(6, Backend.values24Cols(10));
            assertEquals(1, Backend.meta24Cols(10));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(x, be.allocate(3, 5), meta));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(x, values, be.allocate(2, 1)));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(values, meta, be.allocate(11, 4), be.allocate(3, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(values, meta, be.allocate(10, 4), be.allocate(3, 5), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(values, meta, be.allocate(3, 4), be.allocate(10, 5), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(values, meta, be.allocate(4, 4), be.allocate(10, 4), 0.0));
        }
    }
}
