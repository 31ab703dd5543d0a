package io.lowrank.worker.tensor;

import io.lowrank.worker.model.GradCheck;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ELAS ops of the {@link Backend} (methods.md section 6) against plain dense references written
 * here: the 2:4 mask by sorting each group of 4 (magnitude descending, index ascending), the sparse
 * products as triple loops over the masked dense matrix. Odd shapes (one row, columns that leave a
 * tail of 1..3, fewer than 4 columns), never-zero random inputs, float64 and float32 (2 kernel
 * threads, over 1000 rows so the row split really splits). float32 runs twice: "F32" with the native
 * kernels (when they load on this machine) and "F32J" with the Java implementation; {@link
 * #nativeAndJavaPathsAgree} compares the two directly.
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

    /** F64; F32 with the native 2:4 kernels if they load; F32J: float32 with the Java 2:4 kernels. */
    private static Nd4jCpuBackend backend(String dtype) {
        switch (dtype) {
            case "F64": return new Nd4jCpuBackend(DType.F64, 1);
            case "F32": return new Nd4jCpuBackend(DType.F32, 2);
            case "F32J": return new Nd4jCpuBackend(DType.F32, 2, false);
            default: throw new IllegalArgumentException(dtype);
        }
    }

    private static void close(String what, double[] ours, double[] ref, double bound) {
        assertTrue(GradCheck.norm(ref) > 0, what + ": reference is zero");
        double err = GradCheck.relErr(ours, ref);
        System.out.printf("[sparse24] %-45s rel err %.3e (bound %.0e)%n", what, err, bound);
        assertTrue(err < bound, what + ": relative error " + err + " >= " + bound);
    }

    @ParameterizedTest
    @CsvSource({"F64,1,1,1", "F64,1,3,2", "F64,1,4,3", "F64,1,7,5", "F64,5,22,7", "F64,3,37,9", "F64,2,64,1",
            "F32,1,1,1", "F32,1,3,2", "F32,1,4,3", "F32,1,7,5", "F32,5,22,7", "F32,3,37,9", "F32,1001,37,5", "F32,1003,130,17",
            "F32,129,260,33", "F32J,1,1,1", "F32J,1,3,2", "F32J,1,7,5", "F32J,5,22,7", "F32J,1001,37,5", "F32J,1003,130,17"})
    void pruneDecompressAndProductsMatchDenseReferences(String dtype, int rows, int cols, int n) {
        try (Backend be = backend(dtype)) {
            SplittableRandom r = new SplittableRandom(rows * 31L + cols * 7L + n);
            String shape = dtype + " [" + rows + "x" + cols + "] n=" + n;
            Tensor x = random(be, r, rows, cols);
            Backend.Sparse24 sp = be.allocateSparse24(rows, cols);
            assertEquals(rows, sp.rows);
            assertEquals(cols, sp.cols);
            be.prune24(x, sp);

            double[] xs = x.toDoubleArray();
            boolean[] keep = referenceMask(xs, rows, cols);
            double[] s = masked(xs, keep);

            // decompress(prune(x)) is x with the dropped entries zeroed: exact
            Tensor back = random(be, r, rows, cols);                      // garbage to be overwritten
            be.decompress24(sp, back);
            assertArrayEquals(s, back.toDoubleArray(), 0.0, shape + ": decompress24(prune24(x))");
            int kept = 0;
            for (boolean k : keep) if (k) kept++;
            assertEquals(sp.values.size + sp.tail.size, kept, shape + ": kept count");
            assertEquals(rows * (2 * (cols / 4) + cols % 4), kept, shape + ": kept count");
            // the layout: per group the kept values in column order, their positions in bits 0-1 / 2-3, the tail dense
            for (int i = 0; i < rows; i++) {
                for (int g = 0; g < cols / 4; g++) {
                    int m = sp.meta(i, g), i0 = m & 3, i1 = m >> 2;
                    assertTrue(i0 < i1 && i1 <= 3 && keep[i * cols + 4 * g + i0] && keep[i * cols + 4 * g + i1], shape + ": meta byte " + m);
                    assertEquals(xs[i * cols + 4 * g + i0], sp.values.get(i * 2 * (cols / 4) + 2 * g), 0.0);
                    assertEquals(xs[i * cols + 4 * g + i1], sp.values.get(i * 2 * (cols / 4) + 2 * g + 1), 0.0);
                }
                for (int t = 0; t < cols % 4; t++) assertEquals(xs[i * cols + cols / 4 * 4 + t], sp.tail.get(i * (cols % 4) + t), 0.0);
            }

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
                be.spmm24(sp, w, y, beta);
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
                be.spmm24T(sp, g, dw, beta);
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
        for (String dtype : new String[]{"F64", "F32", "F32J"}) {
            try (Backend be = backend(dtype)) {
                int cols = 4 * groups.length + 1;                      // one row, all groups, a tail of 1
                Tensor x = be.allocate(1, cols);
                for (int g = 0; g < groups.length; g++) for (int i = 0; i < 4; i++) x.set(4 * g + i, groups[g][i]);
                x.set(cols - 1, -7.0);
                Backend.Sparse24 sp = be.allocateSparse24(1, cols);
                be.prune24(x, sp);
                Tensor back = be.allocate(1, cols);
                be.decompress24(sp, back);
                for (int g = 0; g < groups.length; g++) {
                    for (int i = 0; i < 4; i++) {
                        boolean kept = i == expected[g][0] || i == expected[g][1];
                        assertEquals(kept ? groups[g][i] : 0.0, back.get(4 * g + i), 0.0, dtype + " group " + g + " position " + i);
                    }
                    assertEquals(groups[g][expected[g][0]], sp.values.get(2 * g), 0.0);
                    assertEquals(groups[g][expected[g][1]], sp.values.get(2 * g + 1), 0.0);
                    assertEquals(expected[g][0] | expected[g][1] << 2, sp.meta(0, g), dtype + " meta of group " + g);
                }
                assertEquals(-7.0, sp.tail.get(0), 0.0, "tail");
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
            Backend.Sparse24 s32 = f32.allocateSparse24(rows, cols), s64 = f64.allocateSparse24(rows, cols);
            f32.prune24(x32, s32);
            f64.prune24(x64, s64);
            assertArrayEquals(s64.metaBytes(), s32.metaBytes(), "positions");
            assertArrayEquals(s64.values.toDoubleArray(), s32.values.toDoubleArray(), 0.0, "kept values");
            assertArrayEquals(s64.tail.toDoubleArray(), s32.tail.toDoubleArray(), 0.0, "tail");

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

    /**
     * The float32 operations with the native kernels and with the Java implementation: prune and
     * decompress bit for bit (special values included), the products within 1e-6 (float
     * accumulation in another order). Skipped where the native library does not load.
     */
    @Test
    void nativeAndJavaPathsAgree() {
        try (Nd4jCpuBackend nat = backend("F32"); Nd4jCpuBackend java = backend("F32J")) {
            assertFalse(java.nativeSparse24(), "F32J must run the Java kernels");
            Assumptions.assumeTrue(nat.nativeSparse24(), "native kernels unavailable here: " + nat.describe());
            int[][] shapes = {{1, 1, 1}, {1, 4, 3}, {2, 7, 5}, {5, 22, 7}, {1001, 37, 5}, {257, 130, 17}, {64, 256, 64}, {300, 2064, 128}};
            for (int[] sh : shapes) {
                int rows = sh[0], cols = sh[1], n = sh[2];
                String shape = "[" + rows + "x" + cols + "] n=" + n;
                SplittableRandom r = new SplittableRandom(rows * 131L + cols);
                Tensor xn = random(nat, r, rows, cols), xj = java.allocate(rows, cols);
                for (int i = 0; i < xn.size; i++) if (r.nextInt(5) == 0) xn.set(i, 0.0);        // ReLU^2-like zeros: ties
                xj.copyFrom(xn.toFloatArray());
                Backend.Sparse24 sn = nat.allocateSparse24(rows, cols), sj = java.allocateSparse24(rows, cols);
                nat.prune24(xn, sn);
                java.prune24(xj, sj);
                assertArrayEquals(sj.metaBytes(), sn.metaBytes(), shape + ": meta");
                assertBitwise(shape + ": values", sj.values, sn.values);
                assertBitwise(shape + ": tail", sj.tail, sn.tail);
                Tensor dn = random(nat, r, rows, cols), dj = java.allocate(rows, cols);
                nat.decompress24(sn, dn);
                java.decompress24(sj, dj);
                assertBitwise(shape + ": decompress", dj, dn);

                Tensor wn = random(nat, r, cols, n), wj = java.allocate(cols, n);
                wj.copyFrom(wn.toFloatArray());
                Tensor gn = random(nat, r, rows, n), gj = java.allocate(rows, n);
                gj.copyFrom(gn.toFloatArray());
                for (double beta : new double[]{0.0, 1.0, 0.5}) {
                    Tensor yn = random(nat, r, rows, n), yj = java.allocate(rows, n);
                    yj.copyFrom(yn.toFloatArray());
                    nat.spmm24(sn, wn, yn, beta);
                    java.spmm24(sj, wj, yj, beta);
                    agree(shape + " spmm24 beta=" + beta, yn, yj);
                    Tensor dwn = random(nat, r, cols, n), dwj = java.allocate(cols, n);
                    dwj.copyFrom(dwn.toFloatArray());
                    nat.spmm24T(sn, gn, dwn, beta);
                    java.spmm24T(sj, gj, dwj, beta);
                    agree(shape + " spmm24T beta=" + beta, dwn, dwj);
                }
            }
            // special values: the selection is a total order on the bits, the same on both paths
            float[] special = {Float.NaN, 1f, -1f, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                    -Float.MIN_VALUE, Float.MAX_VALUE, 2f, -2f, 1e-30f, 3f, 3f, -3f};
            int rows = 97, cols = 43;
            SplittableRandom r = new SplittableRandom(17);
            float[] data = new float[rows * cols];
            for (int i = 0; i < data.length; i++) data[i] = special[r.nextInt(special.length)];
            Tensor xn = nat.allocate(rows, cols), xj = java.allocate(rows, cols);
            xn.copyFrom(data);
            xj.copyFrom(data);
            Backend.Sparse24 sn = nat.allocateSparse24(rows, cols), sj = java.allocateSparse24(rows, cols);
            nat.prune24(xn, sn);
            java.prune24(xj, sj);
            assertArrayEquals(sj.metaBytes(), sn.metaBytes(), "special values: meta");
            assertBitwise("special values: values", sj.values, sn.values);
            Tensor dn = nat.allocate(rows, cols), dj = java.allocate(rows, cols);
            nat.decompress24(sn, dn);
            java.decompress24(sj, dj);
            assertBitwise("special values: decompress", dj, dn);
        }
    }

    private static void assertBitwise(String what, Tensor expected, Tensor actual) {
        assertEquals(expected.size, actual.size, what + ": size");
        for (int i = 0; i < expected.size; i++) {
            int e = Float.floatToRawIntBits((float) expected.get(i)), a = Float.floatToRawIntBits((float) actual.get(i));
            if (e != a) fail(what + ": element " + i + " differs: " + expected.get(i) + " vs " + actual.get(i));
        }
    }

    private static void agree(String what, Tensor nat, Tensor java) {
        double err = GradCheck.relErr(nat.toDoubleArray(), java.toDoubleArray());
        System.out.printf("[sparse24] native vs java %-38s rel err %.3e (bound 1e-6)%n", what, err);
        assertTrue(err <= 1e-6, what + ": native vs java relative error " + err);
    }

    /** -Dlowrank.native.disable=true, read when a backend is built, keeps its 2:4 and fused element-wise operations in Java. */
    @Test
    void systemPropertyDisablesTheNativePath() {
        String before = System.getProperty(Nd4jCpuBackend.NATIVE_DISABLE_PROPERTY);
        System.setProperty(Nd4jCpuBackend.NATIVE_DISABLE_PROPERTY, "true");
        try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F32, 1)) {
            assertFalse(be.nativeSparse24());
            assertFalse(be.nativeFused());
            assertTrue(be.describe().contains("2:4 + fused kernels java"), be.describe());
        } finally {
            if (before == null) System.clearProperty(Nd4jCpuBackend.NATIVE_DISABLE_PROPERTY);
            else System.setProperty(Nd4jCpuBackend.NATIVE_DISABLE_PROPERTY, before);
        }
        try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F64, 1)) {
            assertFalse(be.nativeSparse24(), "float64 always runs the Java loops");
        }
    }

    /** The handle's memory is counted by the backend and released when it closes. */
    @Test
    void handleMemoryIsCounted() {
        for (String dtype : new String[]{"F64", "F32", "F32J"}) {
            try (Nd4jCpuBackend be = backend(dtype)) {
                long live = be.memory().liveBytes(), count = be.memory().allocations();
                Backend.Sparse24 s = be.allocateSparse24(10, 22);
                long bytes = Backend.Sparse24.bytes(be.dtype(), 10, 22);
                assertEquals(10L * (10 + 2) * be.dtype().bytes + 10 * 5, bytes);
                assertEquals(bytes, s.bytes());
                assertEquals(live + bytes, be.memory().liveBytes(), dtype + ": live bytes");
                assertEquals(count + 2, be.memory().allocations(), dtype + ": values+tail, meta");
                assertEquals(10, s.values.dim(0));
                assertEquals(10, s.values.dim(1));
                assertEquals(2, s.tail.dim(1));
                be.close();
                assertEquals(0, be.memory().liveBytes(), dtype + ": released on close");
            }
        }
    }

    /** Bad shapes, types, owners or aliasing are IllegalArgumentExceptions on every path, before any kernel runs. */
    @ParameterizedTest
    @CsvSource({"F64", "F32", "F32J"})
    void shapesAreChecked(String dtype) {
        try (Nd4jCpuBackend be = backend(dtype); Nd4jCpuBackend other = backend(dtype.equals("F64") ? "F32" : "F64")) {
            Tensor x = be.allocate(3, 10);
            Backend.Sparse24 s = be.allocateSparse24(3, 10);
            assertEquals(6, s.values.size / 3 + s.tail.size / 3);
            assertThrows(IllegalArgumentException.class, () -> be.allocateSparse24(-1, 4));
            assertThrows(IllegalArgumentException.class, () -> be.allocateSparse24(1 << 16, 1 << 16));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(be.allocate(3, 9), s));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(be.allocate(4, 10), s));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(be.allocate(30), s));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(other.allocate(3, 10), s));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(x, null));
            assertThrows(IllegalArgumentException.class, () -> be.prune24(x, other.allocateSparse24(3, 10)));
            assertThrows(IllegalArgumentException.class, () -> be.decompress24(s, be.allocate(3, 11)));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, be.allocate(11, 4), be.allocate(3, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, be.allocate(10, 4), be.allocate(3, 5), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, be.allocate(10, 4), be.allocate(2, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, be.allocate(40), be.allocate(3, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, other.allocate(10, 4), be.allocate(3, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(s, be.allocate(3, 4), be.allocate(10, 5), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(s, be.allocate(4, 4), be.allocate(10, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(s, be.allocate(3, 4), be.allocate(9, 4), 0.0));
            // an output overlapping an input: the product would read what it writes
            Tensor big = be.allocate(13, 4);
            assertThrows(IllegalArgumentException.class, () -> be.spmm24(s, big.view(0, 10, 4), big.view(28, 3, 4), 0.0));
            assertThrows(IllegalArgumentException.class, () -> be.spmm24T(s, big.view(0, 3, 4), big.view(8, 10, 4), 0.0));
            // the correct shapes run (n = 0 included)
            be.prune24(x, s);
            be.spmm24(s, be.allocate(10, 4), be.allocate(3, 4), 0.0);
            be.spmm24(s, be.allocate(10, 0), be.allocate(3, 0), 0.0);
            be.spmm24T(s, be.allocate(3, 4), be.allocate(10, 4), 1.0);
            Backend.Sparse24 empty = be.allocateSparse24(0, 10);
            be.prune24(be.allocate(0, 10), empty);
            be.spmm24(empty, be.allocate(10, 4), be.allocate(0, 4), 0.0);
            be.spmm24T(empty, be.allocate(0, 4), be.allocate(10, 4), 0.0);
        }
    }
}
