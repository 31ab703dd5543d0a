package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The native fused kernels ({@link Fused}) against the double-precision Java reference written
 * here (the equations of the worker's FloatKernels, in double with Math.exp), on fresh Gaussian
 * inputs (never zero) of odd sizes (1, not multiples of 8 or 16, across the 4096-element blocks,
 * above the 2^19 elements from which the element-wise kernels use several threads),
 * every ISA path this CPU has and 1-3 threads. Bounds ||native - ref|| / ||ref||: 1e-6 for every
 * output except the causal softmax backward (5e-6) and the AdamW update p_new - p_old (1e-5, half
 * an ulp of p against an update of ~lr); the cross-entropy loss |native - ref| / |ref| <= 1e-6;
 * the squared ReLU and its backward equal the reference rounded to float exactly (one rounding
 * each); RoPE forward and inverse 1e-6, and inverse(forward(x)) == x to 1e-6 with a real table.
 * Skipped (not failed) when the native library is unavailable; the argument checks run either way.
 */
class FusedNativeTest {
  private static final double B = 1e-6;
  // 600011: above the 2^19 elements from which the element-wise kernels use several threads
  private static final int[] SIZES = {1, 3, 7, 9, 17, 33, 100, 1001, 4097, 12289, 600011};

  @AfterEach
  void restore() {
    if (NativeLibrary.isAvailable()) {
      Sparse24.setIsa(Sparse24.cpuIsa());
      Sparse24.setNumThreads(2);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  static float[] randn(SplittableRandom r, int n, double scale) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      float v;
      do {
        double u = 1.0 - r.nextDouble();
        v = (float) (scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble()));
      } while (v == 0f);
      a[i] = v;
    }
    return a;
  }

  static double rel(float[] out, double[] ref) {
    double num = 0;
    double den = 0;
    for (int i = 0; i < ref.length; i++) {
      double d = out[i] - ref[i];
      num += d * d;
      den += ref[i] * ref[i];
    }
    assertTrue(den > 0, "reference is zero");
    return Math.sqrt(num / den);
  }

  static float[] arr(FloatBuffer b, int n) {
    return TestData.toArray(b, n);
  }

  static void ok(double err, double bound, String what) {
    assertTrue(err <= bound, what + ": rel err " + err + " > " + bound);
  }

  static double sig(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  /** Runs body for every ISA >= AVX2 the CPU has and 1..3 threads. */
  static void everyPath(java.util.function.Consumer<String> body) {
    for (int isa = Sparse24.ISA_AVX2; isa <= Sparse24.cpuIsa(); isa++) {
      assertEquals(isa, Sparse24.setIsa(isa));
      for (int t = 1; t <= 3; t++) {
        Sparse24.setNumThreads(t);
        body.accept("isa " + isa + " threads " + t);
      }
    }
  }

  // ---- element-wise ----------------------------------------------------------------------

  @Test
  void siluAndSwigluMatchReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(21);
    for (int n : SIZES) {
      float[] h = randn(r, n, 4);
      float[] u = randn(r, n, 1);
      float[] dy = randn(r, n, 1);
      double[] z = new double[n];
      double[] dh = new double[n];
      double[] dg = new double[n];
      double[] du = new double[n];
      double[] o = new double[n];
      for (int i = 0; i < n; i++) {
        double x = h[i];
        double s = sig(x);
        z[i] = x * s;
        dh[i] = dy[i] * s * (1 + x * (1 - s));
        o[i] = x * s * u[i];
        du[i] = dy[i] * x * s;
        dg[i] = dy[i] * (double) u[i] * s * (1 + x * (1 - s));
      }
      everyPath(ctx -> {
        String w = ctx + " n " + n;
        FloatBuffer zb = TestData.directFloats(n);
        Fused.silu(TestData.direct(h), zb, n);
        ok(rel(arr(zb, n), z), B, w + " silu");
        FloatBuffer db = TestData.directFloats(n);
        Fused.siluBackward(TestData.direct(h), TestData.direct(dy), db, n);
        ok(rel(arr(db, n), dh), B, w + " silu backward");
        FloatBuffer ob = TestData.directFloats(n);
        Fused.swiglu(TestData.direct(h), TestData.direct(u), ob, n, true);
        ok(rel(arr(ob, n), o), B, w + " swiglu");
        FloatBuffer gb = TestData.directFloats(n);
        FloatBuffer ub = TestData.directFloats(n);
        Fused.swigluBackward(TestData.direct(h), TestData.direct(u), TestData.direct(dy), gb, ub, n, true);
        ok(rel(arr(gb, n), dg), B, w + " swiglu dg");
        ok(rel(arr(ub, n), du), B, w + " swiglu du");
        // identity gate (CoLA only_lr_act): exact products
        Fused.swiglu(TestData.direct(h), TestData.direct(u), ob, n, false);
        for (int i = 0; i < n; i++) {
          assertEquals(h[i] * u[i], ob.get(i), 0f, w + " identity gate");
        }
      });
    }
  }

  @Test
  void reluSquareMatchesReferenceExactly() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(28);
    for (int n : SIZES) {
      float[] x = randn(r, n, 2);
      float[] dy = randn(r, n, 1);
      float[] y = new float[n];
      float[] dx = new float[n];
      for (int i = 0; i < n; i++) {
        double rl = Math.max(x[i], 0.0);
        y[i] = (float) (rl * rl);
        dx[i] = (float) (2 * rl * dy[i]);
      }
      everyPath(ctx -> {
        String w = ctx + " n " + n;
        FloatBuffer yb = TestData.directFloats(n);
        Fused.reluSquare(TestData.direct(x), yb, n);
        assertArrayEquals(y, arr(yb, n), w + " relu^2");
        FloatBuffer db = TestData.directFloats(n);
        Fused.reluSquareBackward(TestData.direct(x), TestData.direct(dy), db, n);
        assertArrayEquals(dx, arr(db, n), w + " relu^2 backward");
        // in place as ElasMlp and BenchCommand call them: y == x, dx == dy
        FloatBuffer xb = TestData.direct(x);
        Fused.reluSquare(xb, xb, n);
        assertArrayEquals(y, arr(xb, n), w + " relu^2 in place");
        FloatBuffer gb = TestData.direct(dy);
        Fused.reluSquareBackward(TestData.direct(x), gb, gb, n);
        assertArrayEquals(dx, arr(gb, n), w + " relu^2 backward dx == dy");
      });
    }
  }

  /** x[rows, heads * hd] rotated as FloatKernels.rope, in double. */
  static double[] ropeRef(float[] x, float[] cos, float[] sin, int rows, int seq, int heads, int hd, boolean inverse) {
    int d = heads * hd;
    int half = hd / 2;
    double[] o = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      o[i] = x[i];
    }
    for (int row = 0; row < rows; row++) {
      int t = row % seq;
      for (int h = 0; h < heads; h++) {
        int b = row * d + h * hd;
        for (int i = 0; i < half; i++) {
          double c = cos[t * half + i];
          double s = (inverse ? -1 : 1) * (double) sin[t * half + i];
          double x1 = x[b + i];
          double x2 = x[b + half + i];
          o[b + i] = x1 * c - x2 * s;
          o[b + half + i] = x2 * c + x1 * s;
        }
      }
    }
    return o;
  }

  @Test
  void ropeMatchesReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(29);
    // rows, seqLen, heads, headDim: half odd / not a multiple of 8 or 16, rows not a multiple of
    // seqLen, and 1052 x 550 > 2^19 elements (several threads)
    int[][] shapes = {{1, 1, 1, 2}, {3, 3, 1, 6}, {7, 7, 3, 10}, {11, 4, 2, 18}, {51, 17, 3, 64}, {1052, 263, 5, 110}};
    for (int[] sh : shapes) {
      int rows = sh[0];
      int seq = sh[1];
      int heads = sh[2];
      int hd = sh[3];
      int half = hd / 2;
      int n = rows * heads * hd;
      float[] x = randn(r, n, 1);
      float[] cos = randn(r, seq * half, 1);
      float[] sin = randn(r, seq * half, 1);
      double[] fwd = ropeRef(x, cos, sin, rows, seq, heads, hd, false);
      double[] inv = ropeRef(x, cos, sin, rows, seq, heads, hd, true);
      float[] rc = new float[seq * half];
      float[] rs = new float[seq * half];
      for (int t = 0; t < seq; t++) {
        for (int i = 0; i < half; i++) {
          double a = t / Math.pow(10000, 2.0 * i / hd);
          rc[t * half + i] = (float) Math.cos(a);
          rs[t * half + i] = (float) Math.sin(a);
        }
      }
      double[] x0 = new double[n];
      for (int i = 0; i < n; i++) {
        x0[i] = x[i];
      }
      everyPath(ctx -> {
        String w = ctx + " rows " + rows + " seq " + seq + " heads " + heads + " hd " + hd;
        FloatBuffer xb = TestData.direct(x);
        Fused.rope(xb, TestData.direct(cos), TestData.direct(sin), rows, seq, heads, hd, false);
        ok(rel(arr(xb, n), fwd), B, w + " rope");
        xb = TestData.direct(x);
        Fused.rope(xb, TestData.direct(cos), TestData.direct(sin), rows, seq, heads, hd, true);
        ok(rel(arr(xb, n), inv), B, w + " rope inverse");
        xb = TestData.direct(x);
        Fused.rope(xb, TestData.direct(rc), TestData.direct(rs), rows, seq, heads, hd, false);
        Fused.rope(xb, TestData.direct(rc), TestData.direct(rs), rows, seq, heads, hd, true);
        ok(rel(arr(xb, n), x0), B, w + " rope inverse(forward(x)) == x");
      });
    }
  }

  // ---- RMSNorm ---------------------------------------------------------------------------

  @Test
  void rmsNormMatchesReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(22);
    int[][] shapes = {{1, 7}, {3, 8}, {2, 9}, {5, 17}, {65, 33}, {130, 100}, {129, 512}, {67, 1376}};
    double eps = 1e-6;
    for (int[] s : shapes) {
      int rows = s[0];
      int d = s[1];
      int n = rows * d;
      float[] x = randn(r, n, 2);
      float[] w = randn(r, d, 1);
      float[] g = randn(r, n, 1);
      float[] dw0 = randn(r, d, 0.5);
      double[] out = new double[n];
      double[] inv = new double[rows];
      double[] dx = new double[n];
      double[] dw = new double[d];
      float[] invF = new float[rows];
      for (int i = 0; i < d; i++) {
        dw[i] = dw0[i];
      }
      for (int row = 0; row < rows; row++) {
        double ss = 0;
        for (int j = 0; j < d; j++) {
          ss += (double) x[row * d + j] * x[row * d + j];
        }
        inv[row] = 1 / Math.sqrt(ss / d + eps);
        invF[row] = (float) inv[row];
        for (int j = 0; j < d; j++) {
          out[row * d + j] = w[j] * x[row * d + j] * inv[row];
        }
      }
      for (int row = 0; row < rows; row++) {
        double iv = invF[row];
        double dot = 0;
        for (int j = 0; j < d; j++) {
          double xh = x[row * d + j] * iv;
          dot += g[row * d + j] * (double) w[j] * xh;
          dw[j] += g[row * d + j] * xh;
        }
        for (int j = 0; j < d; j++) {
          double xh = x[row * d + j] * iv;
          dx[row * d + j] = iv * (g[row * d + j] * (double) w[j] - xh * dot / d);
        }
      }
      everyPath(ctx -> {
        String what = ctx + " [" + rows + "x" + d + "]";
        FloatBuffer ob = TestData.directFloats(n);
        FloatBuffer ib = TestData.directFloats(rows);
        Fused.rmsNorm(TestData.direct(x), TestData.direct(w), eps, ob, ib, rows, d);
        ok(rel(arr(ob, n), out), B, what + " rmsNorm out");
        ok(rel(arr(ib, rows), inv), B, what + " rmsNorm invRms");
        FloatBuffer dxb = TestData.directFloats(n);
        FloatBuffer dwb = TestData.direct(dw0);
        Fused.rmsNormBackward(TestData.direct(x), TestData.direct(w), TestData.direct(invF), TestData.direct(g), dxb, dwb, rows, d);
        ok(rel(arr(dxb, n), dx), B, what + " rmsNorm dx");
        ok(rel(arr(dwb, d), dw), B, what + " rmsNorm dw (accumulated)");
      });
    }
  }

  // ---- cross-entropy ---------------------------------------------------------------------

  @Test
  void crossEntropyMatchesReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(23);
    // {1, 2} with scale 3: often softmax_t ~ 1 (the target entry without cancellation, see lowrank_native.h)
    int[][] shapes = {{1, 2}, {4, 2}, {3, 7}, {2, 17}, {5, 100}, {9, 1001}, {3, 32000}, {70, 333}};
    int ignore = -100;
    float scale = 0.37f;
    for (int[] s : shapes) {
      int rows = s[0];
      int vocab = s[1];
      int n = rows * vocab;
      float[] x = randn(r, n, 3);
      int[] t = new int[rows];
      for (int i = 0; i < rows; i++) {
        t[i] = i % 3 == 2 ? ignore : r.nextInt(vocab);
      }
      double[] grad = new double[n];
      double loss = 0;
      for (int row = 0; row < rows; row++) {
        if (t[row] == ignore) {
          continue;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
          max = Math.max(max, x[row * vocab + j]);
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
          sum += Math.exp(x[row * vocab + j] - max);
        }
        double lse = Math.log(sum) + max;
        loss += lse - x[row * vocab + t[row]];
        for (int j = 0; j < vocab; j++) {
          grad[row * vocab + j] = Math.exp(x[row * vocab + j] - lse) * scale - (j == t[row] ? scale : 0);
        }
      }
      double refLoss = loss;
      everyPath(ctx -> {
        String what = ctx + " [" + rows + "x" + vocab + "]";
        FloatBuffer lb = TestData.direct(x);
        double l = Fused.crossEntropy(lb, rows, vocab, t, ignore, scale);
        ok(rel(arr(lb, n), grad), B, what + " cross-entropy gradient");
        ok(Math.abs(l - refLoss) / Math.abs(refLoss), B, what + " cross-entropy loss");
        for (int row = 2; row < rows; row += 3) {
          for (int j = 0; j < vocab; j++) {
            assertEquals(0f, lb.get(row * vocab + j), what + " ignored row");
          }
        }
      });
    }
  }

  // ---- AdamW -----------------------------------------------------------------------------

  @Test
  void adamwMatchesReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(24);
    double lr = 0.05;
    double b1 = 0.9;
    double b2 = 0.999;
    double eps = 1e-8;
    double wd = 0.01;
    for (int n : SIZES) {
      for (long step : new long[] {1, 3, 1000}) {
        float[] p = randn(r, n, 1);
        float[] g = randn(r, n, 0.1);
        float[] m = randn(r, n, 0.01);
        float[] v = randn(r, n, 0.01);
        for (int i = 0; i < n; i++) {
          v[i] *= v[i];
        }
        double[] rp = new double[n];
        double[] rm = new double[n];
        double[] rv = new double[n];
        double[] rd = new double[n];
        double bc1 = 1 - Math.pow(b1, step);
        double bc2 = 1 - Math.pow(b2, step);
        for (int i = 0; i < n; i++) {
          rm[i] = b1 * m[i] + (1 - b1) * g[i];
          rv[i] = b2 * v[i] + (1 - b2) * g[i] * (double) g[i];
          rp[i] = p[i] * (1 - lr * wd) - lr / bc1 * rm[i] / (Math.sqrt(rv[i]) / Math.sqrt(bc2) + eps);
          rd[i] = rp[i] - p[i];
        }
        everyPath(ctx -> {
          String what = ctx + " n " + n + " step " + step;
          FloatBuffer pb = TestData.direct(p);
          FloatBuffer mb = TestData.direct(m);
          FloatBuffer vb = TestData.direct(v);
          Fused.adamw(pb, TestData.direct(g), mb, vb, n, lr, b1, b2, eps, wd, step);
          float[] po = arr(pb, n);
          ok(rel(po, rp), B, what + " adamw p");
          ok(rel(arr(mb, n), rm), B, what + " adamw m");
          ok(rel(arr(vb, n), rv), B, what + " adamw v");
          double num = 0;
          double den = 0;
          for (int i = 0; i < n; i++) {
            double e = (po[i] - (double) p[i]) - rd[i];
            num += e * e;
            den += rd[i] * rd[i];
          }
          ok(Math.sqrt(num / den), 1e-5, what + " adamw update");
        });
      }
    }
  }

  // ---- causal softmax --------------------------------------------------------------------

  @Test
  void causalSoftmaxMatchesReference() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(25);
    for (int n : new int[] {1, 2, 7, 9, 17, 33, 100, 257}) {
      int ld = n + (n % 2);
      int tot = n * ld;
      float[] s = randn(r, tot, 3);
      float[] dp = randn(r, tot, 1);
      double[] p = new double[n * n];
      float[] pf = new float[tot];
      double[] ds = new double[n * n];
      for (int i = 0; i < n; i++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          max = Math.max(max, s[i * ld + j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) {
          sum += Math.exp(s[i * ld + j] - max);
        }
        for (int j = 0; j <= i; j++) {
          p[i * n + j] = Math.exp(s[i * ld + j] - max) / sum;
          pf[i * ld + j] = (float) p[i * n + j];
        }
        double dot = 0;
        for (int j = 0; j <= i; j++) {
          dot += dp[i * ld + j] * (double) pf[i * ld + j];
        }
        for (int j = 0; j <= i; j++) {
          ds[i * n + j] = pf[i * ld + j] * (dp[i * ld + j] - dot);
        }
      }
      for (int isa = Sparse24.ISA_AVX2; isa <= Sparse24.cpuIsa(); isa++) {
        Sparse24.setIsa(isa);
        FloatBuffer pb = TestData.direct(s);
        Fused.causalSoftmax(pb, n, ld);
        FloatBuffer gb = TestData.direct(dp);
        Fused.causalSoftmaxBackward(TestData.direct(pf), ld, gb, ld, n);
        float[] po = new float[n * n];
        float[] go = new float[n * n];
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < n; j++) {
            po[i * n + j] = pb.get(i * ld + j);
            go[i * n + j] = gb.get(i * ld + j);
          }
          for (int j = n; j < ld; j++) {
            assertEquals(s[i * ld + j], pb.get(i * ld + j), "padding untouched");
          }
        }
        ok(rel(po, p), B, "isa " + isa + " n " + n + " causal softmax");
        if (n == 1) {
          assertEquals(0f, go[0], "one column: p = 1, the gradient is exactly 0");
        } else {
          ok(rel(go, ds), 5e-6, "isa " + isa + " n " + n + " causal softmax backward");
        }
      }
    }
  }

  // ---- results independent of threads; address API; bad arguments -------------------------

  @Test
  void resultsDoNotDependOnThreadCount() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(26);
    int rows = 1100; // 1100 x 517 > 2^19: the element-wise and RMSNorm kernels use the threads
    int d = 517;
    float[] x = randn(r, rows * d, 1);
    float[] w = randn(r, d, 1);
    float[] g = randn(r, rows * d, 1);
    int[] t = new int[rows];
    for (int i = 0; i < rows; i++) {
      t[i] = r.nextInt(d);
    }
    float[] inv = randn(r, rows, 1);
    for (int i = 0; i < rows; i++) {
      inv[i] = Math.abs(inv[i]);
    }
    float[][] res = new float[3][];
    for (int th = 1; th <= 3; th++) {
      Sparse24.setNumThreads(th);
      FloatBuffer dx = TestData.directFloats(rows * d);
      FloatBuffer dw = TestData.directFloats(d);
      Fused.rmsNormBackward(TestData.direct(x), TestData.direct(w), TestData.direct(inv), TestData.direct(g), dx, dw, rows, d);
      FloatBuffer l = TestData.direct(x);
      double loss = Fused.crossEntropy(l, rows, d, t, -1, 0.5f);
      FloatBuffer z = TestData.directFloats(rows * d);
      Fused.silu(TestData.direct(g), z, rows * d);
      float[] all = new float[2 * rows * d + d + 1];
      dx.get(0, all, 0, rows * d);
      dw.get(0, all, rows * d, d);
      l.get(0, all, rows * d + d, rows * d);
      all[all.length - 1] = (float) loss;
      res[th - 1] = all;
    }
    assertArrayEquals(res[0], res[1]);
    assertArrayEquals(res[0], res[2]);
  }

  @Test
  void ropeAndReluSquareDoNotDependOnThreadCount() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom r = new SplittableRandom(30);
    int rows = 1100; // 1100 x 4 x 130 > 2^19: both kernels use the threads
    int seq = 275;
    int heads = 4;
    int hd = 130;
    int n = rows * heads * hd;
    float[] x = randn(r, n, 1);
    float[] dy = randn(r, n, 1);
    float[] cos = randn(r, seq * hd / 2, 1);
    float[] sin = randn(r, seq * hd / 2, 1);
    float[][] res = new float[3][];
    for (int th = 1; th <= 3; th++) {
      Sparse24.setNumThreads(th);
      FloatBuffer xb = TestData.direct(x);
      Fused.rope(xb, TestData.direct(cos), TestData.direct(sin), rows, seq, heads, hd, false);
      FloatBuffer yb = TestData.directFloats(n);
      Fused.reluSquare(TestData.direct(x), yb, n);
      FloatBuffer db = TestData.directFloats(n);
      Fused.reluSquareBackward(TestData.direct(x), TestData.direct(dy), db, n);
      float[] all = new float[3 * n];
      xb.get(0, all, 0, n);
      yb.get(0, all, n, n);
      db.get(0, all, 2 * n, n);
      res[th - 1] = all;
    }
    assertArrayEquals(res[0], res[1]);
    assertArrayEquals(res[0], res[2]);
  }

  @Test
  void addressApiAndBufferPositions() throws Exception {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    sun.misc.Unsafe u = TestData.unsafe();
    SplittableRandom r = new SplittableRandom(27);
    int n = 1003;
    float[] h = randn(r, n, 3);
    long base = u.allocateMemory(4L * (2 * n + 10));
    try {
      for (int i = 0; i < n; i++) {
        u.putFloat(base + 4L * (3 + i), h[i]);
      }
      // h at element offset 3, z at element offset n + 5 of the same block
      Fused.silu(base, 3, base, n + 5, n);
      FloatBuffer zb = TestData.directFloats(n + 2);
      zb.position(2);
      FloatBuffer hb = TestData.directFloats(n + 7);
      hb.position(7);
      hb.put(h).position(7);
      Fused.silu(hb, zb, n);
      for (int i = 0; i < n; i++) {
        assertEquals(zb.get(2 + i), u.getFloat(base + 4L * (n + 5 + i)), "address vs buffer at positions, element " + i);
      }
      // in place through the address API
      Fused.silu(base, 3, base, 3, n);
      for (int i = 0; i < n; i++) {
        assertEquals(zb.get(2 + i), u.getFloat(base + 4L * (3 + i)), "in place, element " + i);
      }
    } finally {
      u.freeMemory(base);
    }
  }

  @Test
  void badArgumentsThrowBeforeAnyNativeCall() {
    // the checks run before require(): this passes with or without the library
    Class<IllegalArgumentException> iae = IllegalArgumentException.class;
    FloatBuffer a = TestData.directFloats(10);
    FloatBuffer b = TestData.directFloats(10);
    FloatBuffer c = TestData.directFloats(10);
    FloatBuffer small = TestData.directFloats(9);
    FloatBuffer heap = FloatBuffer.allocate(10);
    assertThrows(iae, () -> Fused.silu(a, small, 10), "output too small");
    assertThrows(iae, () -> Fused.silu(heap, b, 10), "heap buffer");
    assertThrows(iae, () -> Fused.silu(a, b.asReadOnlyBuffer(), 10), "read-only output");
    assertThrows(iae, () -> Fused.silu(a, b, -1), "negative n");
    assertThrows(iae, () -> Fused.silu(a, BadShapes.slice(b, 1), 10), "position leaves 9");
    assertThrows(iae, () -> Fused.siluBackward(a, small, c, 10));
    assertThrows(iae, () -> Fused.swiglu(a, b, null, 10, true));
    assertThrows(iae, () -> Fused.swigluBackward(a, b, c, small, b, 10, true));
    assertThrows(iae, () -> Fused.rmsNorm(a, b, 1e-6, c, small, 10, 1), "invRms of 9 for 10 rows");
    assertThrows(iae, () -> Fused.rmsNorm(a, small, 1e-6, c, b, 1, 10), "weight of 9 for d 10");
    assertThrows(iae, () -> Fused.rmsNorm(a, b, 1e-6, c, b, 2, 10), "x of 10 for 2x10");
    assertThrows(iae, () -> Fused.rmsNormBackward(a, b, c, a, b, small, 1, 10), "dw of 9");
    assertThrows(iae, () -> Fused.crossEntropy(a, 2, 5, new int[] {0, 5}, -100, 1f), "target = vocab");
    assertThrows(iae, () -> Fused.crossEntropy(a, 2, 5, new int[] {0, -1}, -100, 1f), "negative target");
    assertThrows(iae, () -> Fused.crossEntropy(a, 2, 5, new int[] {0}, -100, 1f), "1 target for 2 rows");
    assertThrows(iae, () -> Fused.crossEntropy(a, 3, 5, new int[] {0, 1, 2}, -100, 1f), "15 logits in 10");
    assertThrows(iae, () -> Fused.crossEntropy(a.asReadOnlyBuffer(), 2, 5, new int[] {0, 1}, -100, 1f));
    assertThrows(iae, () -> Fused.adamw(a, b, c, small, 10, 1e-3, 0.9, 0.999, 1e-8, 0, 1), "v of 9");
    assertThrows(iae, () -> Fused.adamw(a, b, c, a, 10, 1e-3, 0.9, 0.999, 1e-8, 0, 0), "step 0");
    assertThrows(iae, () -> Fused.causalSoftmax(a, 4, 3), "ld < n");
    assertThrows(iae, () -> Fused.causalSoftmax(a, 4, 4), "16 > 10");
    assertThrows(iae, () -> Fused.causalSoftmaxBackward(a, 4, small, 4, 3), "dp needs 11 of 9");
    assertThrows(iae, () -> Fused.reluSquare(a, small, 10), "relu^2 output too small");
    assertThrows(iae, () -> Fused.reluSquare(a, b.asReadOnlyBuffer(), 10), "relu^2 read-only output");
    assertThrows(iae, () -> Fused.reluSquare(a, b, -1), "relu^2 negative n");
    assertThrows(iae, () -> Fused.reluSquareBackward(a, small, c, 10), "relu^2 backward dy of 9");
    assertThrows(iae, () -> Fused.reluSquareBackward(heap, b, c, 10), "relu^2 backward heap x");
    // rope: x [rows, heads * hd], tables [seqLen, hd / 2]
    assertThrows(iae, () -> Fused.rope(a, b, c, 1, 1, 2, 5, false), "odd head dim");
    assertThrows(iae, () -> Fused.rope(a, b, c, 1, 1, 5, 0, false), "head dim 0");
    assertThrows(iae, () -> Fused.rope(a, b, c, 1, 0, 1, 10, false), "seqLen 0");
    assertThrows(iae, () -> Fused.rope(a, b, c, 1, 1, 0, 10, false), "0 heads");
    assertThrows(iae, () -> Fused.rope(a, b, c, -1, 1, 1, 10, false), "negative rows");
    assertThrows(iae, () -> Fused.rope(a, b, c, 2, 1, 1, 10, false), "x of 10 for 2 x 10");
    assertThrows(iae, () -> Fused.rope(a, b, c, 1, 3, 1, 10, false), "tables of 10 for 3 x 5 = 15");
    assertThrows(iae, () -> Fused.rope(a, small, c, 1, 2, 1, 10, false), "cos of 9 for 2 x 5 = 10");
    assertThrows(iae, () -> Fused.rope(a, b, small, 1, 2, 1, 10, false), "sin of 9 for 2 x 5 = 10");
    assertThrows(iae, () -> Fused.rope(a.asReadOnlyBuffer(), b, c, 1, 1, 1, 10, false), "read-only x");
    assertThrows(iae, () -> Fused.rope(64L * 1024, 0, 0L, 0, 64L * 1024, 0, 1, 1, 1, 4, false), "null cos address");
    assertThrows(iae, () -> Fused.rope(64L * 1024, 0, 64L * 1024, -1, 64L * 1024, 0, 1, 1, 1, 4, true), "negative cos offset");
    assertThrows(iae, () -> Fused.reluSquareBackward(64L * 1024, 0, 64L * 1024, 0, 0L, 0, 5), "null dx address");
    // address API: zero address, negative offset
    assertThrows(iae, () -> Fused.silu(0L, 0, 64L * 1024, 0, 5), "null address");
    assertThrows(iae, () -> Fused.silu(64L * 1024, -1, 64L * 1024, 0, 5), "negative offset");
    assertThrows(iae, () -> Fused.adamw(64L * 1024, 0, 64L * 1024, 0, 0L, 0, 64L * 1024, 0, 5, 1e-3, 0.9, 0.999, 1e-8, 0, 1));
    assertThrows(iae, () -> Fused.crossEntropy(64L * 1024, 0, 1, 4, new int[] {4}, -100, 1f));
    assertThrows(iae, () -> Fused.causalSoftmaxBackward(64L * 1024, 0, 4, 64L * 1024, 0, 3, 4), "lddp < n");
  }
}
