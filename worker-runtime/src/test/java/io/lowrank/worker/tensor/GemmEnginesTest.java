package io.lowrank.worker.tensor;

import io.lowrank.nativekernels.NativeLibrary;
import io.lowrank.worker.model.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float32 products on both engines of the backend, OpenBLAS and the native kernels' sgemm
 * (when the library loads here), against the float64 backend (OpenBLAS dgemm) on the same
 * float-representable inputs: strided sub-matrices at offsets, every transposition, alpha and
 * beta; and attention forward and backward, whose per-head products run one per kernel thread.
 * Bound ||out - ref|| / ||ref|| <= 1e-5 (float32 accumulation over k <= 600).
 */
class GemmEnginesTest {
    private static final double BOUND = 1e-5;

    private static double[] randn(SplittableRandom r, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            float v;
            do { v = (float) GradCheck.gaussian(r); } while (v == 0f);
            a[i] = v;
        }
        return a;
    }

    private static List<Nd4jCpuBackend> float32Backends() {
        List<Nd4jCpuBackend> list = new ArrayList<>();
        list.add(new Nd4jCpuBackend(DType.F32, 2, true, Nd4jCpuBackend.GemmEngine.OPENBLAS));
        if (NativeLibrary.isAvailable()) list.add(new Nd4jCpuBackend(DType.F32, 2, true, Nd4jCpuBackend.GemmEngine.NATIVE));
        else System.out.println("[gemm] native kernels unavailable (" + NativeLibrary.unavailableReason() + "): OpenBLAS only");
        return list;
    }

    /** op on the float64 backend and on each float32 engine; every float32 output within BOUND of float64. */
    private static void compare(String what, Function<Backend, double[][]> op) {
        double[][] ref;
        try (Backend be = new Nd4jCpuBackend(DType.F64, 2)) { ref = op.apply(be); }
        for (Nd4jCpuBackend be : float32Backends()) {
            try (be) {
                assertEquals(be.nativeGemm(), be.describe().contains("gemm native"), be.describe());
                double[][] out = op.apply(be);
                for (int k = 0; k < ref.length; k++) {
                    assertTrue(GradCheck.norm(ref[k]) > 0, what + " output " + k + ": reference is zero");
                    double e = GradCheck.relErr(out[k], ref[k]);
                    System.out.printf("[gemm] %-44s %-8s output %d rel err %.2e%n", what, be.nativeGemm() ? "native" : "openblas", k, e);
                    assertTrue(e <= BOUND, what + " output " + k + " on " + be.describe() + ": rel err " + e);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"false,false,37,70,300,0.0", "false,true,130,96,33,1.0", "true,false,65,17,513,0.5", "true,true,9,130,64,0.0",
            "false,false,2048,128,512,0.0", "true,false,128,512,600,1.0"})
    void stridedProductsMatchFloat64(boolean ta, boolean tb, int m, int n, int k, double beta) {
        SplittableRandom r = new SplittableRandom(m * 131L + n * 17L + k);
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2, offA = 7, offB = 1, offC = 3;
        double[] a = randn(r, offA + (ta ? k : m) * lda), b = randn(r, offB + (tb ? n : k) * ldb), c = randn(r, offC + m * ldc);
        compare("gemm " + (ta ? "T" : "N") + (tb ? "T" : "N") + " " + m + "x" + n + "x" + k + " beta " + beta, be -> {
            Tensor ta_ = be.allocate(a.length), tb_ = be.allocate(b.length), tc = be.allocate(c.length);
            ta_.copyFrom(a);
            tb_.copyFrom(b);
            tc.copyFrom(c);
            be.gemm(ta, tb, m, n, k, 0.75, ta_, offA, lda, tb_, offB, ldb, beta, tc, offC, ldc);
            double[] out = tc.toDoubleArray();
            // columns past n and the elements before offC are untouched
            for (int i = 0; i < offC; i++) assertEquals(c[i], out[i], "before C at " + i);
            for (int i = 0; i < m; i++) for (int j = n; j < ldc; j++) assertEquals(c[offC + i * ldc + j], out[offC + i * ldc + j], "padding (" + i + "," + j + ")");
            return new double[][]{out};
        });
    }

    /**
     * The grouped products of projections that share an input, as the model issues them (CoLA
     * h_g = x A_g, dA_g += x^T dh_g, dx = sum dh_g A_g^T; dense y_g = x W_g^T, dx += sum dy_g W_g):
     * each engine's (the native one fused) against float64's one-by-one default.
     */
    @ParameterizedTest
    @CsvSource({"3,40,17", "2,96,128", "3,130,33"})
    void groupedProductsMatchFloat64(int parts, int rank, int rows) {
        int d = 70;
        SplittableRandom r = new SplittableRandom(parts * 1000L + rank);
        double[] x = randn(r, rows * d), dxInit = randn(r, rows * d);
        double[][] fa = new double[parts][], dh = new double[parts][], gInit = new double[parts][], w = new double[parts][], dy = new double[parts][];
        for (int g = 0; g < parts; g++) {
            fa[g] = randn(r, d * rank);
            dh[g] = randn(r, rows * rank);
            gInit[g] = randn(r, d * rank);
            w[g] = randn(r, (g + 1) * 8 * d);      // dense members of different widths
            dy[g] = randn(r, rows * (g + 1) * 8);
        }
        compare("grouped " + parts + " parts rank " + rank + " rows " + rows, be -> {
            Tensor tx = be.allocate(rows, d), tdx = be.allocate(rows, d), tdx2 = be.allocate(rows, d);
            tx.copyFrom(x);
            tdx.copyFrom(dxInit);
            Tensor[] a = new Tensor[parts], h = new Tensor[parts], tdh = new Tensor[parts], grad = new Tensor[parts];
            Tensor[] tw = new Tensor[parts], y = new Tensor[parts], tdy = new Tensor[parts];
            for (int g = 0; g < parts; g++) {
                a[g] = be.allocate(d, rank);
                a[g].copyFrom(fa[g]);
                h[g] = be.allocate(rows, rank);
                tdh[g] = be.allocate(rows, rank);
                tdh[g].copyFrom(dh[g]);
                grad[g] = be.allocate(d, rank);
                grad[g].copyFrom(gInit[g]);
                tw[g] = be.allocate((g + 1) * 8, d);
                tw[g].copyFrom(w[g]);
                y[g] = be.allocate(rows, (g + 1) * 8);
                tdy[g] = be.allocate(rows, (g + 1) * 8);
                tdy[g].copyFrom(dy[g]);
            }
            be.matmulSharedA(tx, false, a, false, h, 0.0);          // h_g = x A_g
            be.matmulSharedA(tx, true, tdh, false, grad, 1.0);      // dA_g += x^T dh_g
            be.matmulSumK(tdh, false, a, true, tdx2, 0.0);          // dx = sum dh_g A_g^T
            be.matmulSharedA(tx, false, tw, true, y, 0.0);          // y_g = x W_g^T
            be.matmulSumK(tdy, false, tw, false, tdx, 1.0);         // dx += sum dy_g W_g
            double[][] out = new double[3 * parts + 2][];
            for (int g = 0; g < parts; g++) {
                out[g] = h[g].toDoubleArray();
                out[parts + g] = grad[g].toDoubleArray();
                out[2 * parts + g] = y[g].toDoubleArray();
            }
            out[3 * parts] = tdx2.toDoubleArray();
            out[3 * parts + 1] = tdx.toDoubleArray();
            return out;
        });
    }

    /**
     * CoLA's bottleneck ops (h_g = x A_g with z_g = SiLU(h_g); dh = (dy B^T) * SiLU'(h)): each
     * engine's (the native one with the SiLU in the product's epilogue) against float64's
     * product-then-kernel default.
     */
    @ParameterizedTest
    @CsvSource({"1,40,17", "3,128,64", "2,33,130"})
    void colaBottleneckOpsMatchFloat64(int parts, int rank, int rows) {
        int d = 70;
        SplittableRandom r = new SplittableRandom(parts * 100L + rank);
        double[] x = randn(r, rows * d), dy = randn(r, rows * d), fb = randn(r, rank * d);
        double[][] fa = new double[parts][];
        for (int g = 0; g < parts; g++) fa[g] = randn(r, d * rank);
        compare("cola bottleneck " + parts + " parts rank " + rank + " rows " + rows, be -> {
            Tensor tx = be.allocate(rows, d), tdy = be.allocate(rows, d), b = be.allocate(rank, d), dh = be.allocate(rows, rank);
            tx.copyFrom(x);
            tdy.copyFrom(dy);
            b.copyFrom(fb);
            Tensor[] a = new Tensor[parts], h = new Tensor[parts], z = new Tensor[parts];
            for (int g = 0; g < parts; g++) {
                a[g] = be.allocate(d, rank);
                a[g].copyFrom(fa[g]);
                h[g] = be.allocate(rows, rank);
                z[g] = be.allocate(rows, rank);
            }
            be.colaBottleneckForward(tx, a, h, z);
            be.colaBottleneckBackward(tdy, b, h[0], dh);
            double[][] out = new double[2 * parts + 1][];
            for (int g = 0; g < parts; g++) {
                out[g] = h[g].toDoubleArray();
                out[parts + g] = z[g].toDoubleArray();
            }
            out[2 * parts] = dh.toDoubleArray();
            return out;
        });
    }

    @Test
    void groupedProductsRejectDisagreeingShapes() {
        for (Nd4jCpuBackend be : float32Backends()) {
            try (be) {
                Tensor x = be.allocate(4, 6), a1 = be.allocate(6, 3), a2 = be.allocate(5, 3), h1 = be.allocate(4, 3), h2 = be.allocate(4, 3);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> be.matmulSharedA(x, false, new Tensor[]{a1, a2}, false, new Tensor[]{h1, h2}, 0.0), be.describe());
                assertTrue(e.getMessage().contains("shapes do not agree"), e.getMessage());
                Tensor dx = be.allocate(4, 6);
                assertThrows(IllegalArgumentException.class,
                        () -> be.matmulSumK(new Tensor[]{h1, h2}, false, new Tensor[]{a1, a2}, true, dx, 0.0), be.describe());
            }
        }
    }

    @Test
    void attentionForwardAndBackwardMatchFloat64() {
        int batch = 2, seq = 150, heads = 4, d = 64, rows = batch * seq;
        SplittableRandom r = new SplittableRandom(11);
        double[] q = randn(r, rows * d), k = randn(r, rows * d), v = randn(r, rows * d), dout = randn(r, rows * d);
        compare("attention b2 s150 h4 d64", be -> {
            Tensor tq = be.allocate(rows, d), tk = be.allocate(rows, d), tv = be.allocate(rows, d), tdo = be.allocate(rows, d);
            tq.copyFrom(q);
            tk.copyFrom(k);
            tv.copyFrom(v);
            tdo.copyFrom(dout);
            Tensor probs = be.allocate(batch, heads, seq, seq), out = be.allocate(rows, d);
            Tensor dq = be.allocate(rows, d), dk = be.allocate(rows, d), dv = be.allocate(rows, d);
            be.attention(tq, tk, tv, batch, seq, heads, probs, out);
            be.attentionBackward(tq, tk, tv, probs, tdo, batch, seq, heads, dq, dk, dv);
            return new double[][]{out.toDoubleArray(), dq.toDoubleArray(), dk.toDoubleArray(), dv.toDoubleArray()};
        });
    }

    @Test
    void engineSelection() {
        try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F32, 2, true, Nd4jCpuBackend.GemmEngine.OPENBLAS)) {
            assertFalse(be.nativeGemm());
        }
        try (Nd4jCpuBackend be = new Nd4jCpuBackend(DType.F64, 2, true, Nd4jCpuBackend.GemmEngine.AUTO)) {
            assertFalse(be.nativeGemm(), "float64 products stay in OpenBLAS");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new Nd4jCpuBackend(DType.F32, 2, false, Nd4jCpuBackend.GemmEngine.NATIVE));
        assertTrue(e.getMessage().contains("lowrank.gemm=native") && e.getMessage().contains("disabled"), e.getMessage());
        String before = System.getProperty(Nd4jCpuBackend.GEMM_PROPERTY);
        try {
            System.setProperty(Nd4jCpuBackend.GEMM_PROPERTY, "cublas");
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, Nd4jCpuBackend.GemmEngine::fromProperty);
            assertTrue(bad.getMessage().contains("-Dlowrank.gemm=cublas"), bad.getMessage());
            System.setProperty(Nd4jCpuBackend.GEMM_PROPERTY, "OpenBLAS");
            assertEquals(Nd4jCpuBackend.GemmEngine.OPENBLAS, Nd4jCpuBackend.GemmEngine.fromProperty());
        } finally {
            if (before == null) System.clearProperty(Nd4jCpuBackend.GEMM_PROPERTY); else System.setProperty(Nd4jCpuBackend.GEMM_PROPERTY, before);
        }
    }
}
