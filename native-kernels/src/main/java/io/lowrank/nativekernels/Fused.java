package io.lowrank.nativekernels;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Native (C++ AVX2/AVX-512, OpenMP) fused float32 element-wise kernels of the training step,
 * through JNI without copies: SiLU and its backward (the CoLA bottleneck), the SwiGLU gated product
 * and its backward, RMSNorm forward/backward, cross-entropy (loss and gradient in place over the
 * logits), the AdamW update, attention's causal softmax forward/backward, the rotary position
 * embedding (RoPE) and its inverse, and ELAS's squared ReLU and its backward. Equations and
 * contracts: {@code cpp/include/lowrank_native.h}; they are those of the worker's float32 Java
 * paths (FloatKernels), which are the fallback.
 *
 * <p>Two ways in, as {@link Sparse24}:
 *
 * <ul>
 *   <li>Address methods ({@code long} address + {@code long} element offset per operand), for
 *       off-heap memory owned elsewhere (ND4J). Sizes, offsets and non-zero addresses are checked
 *       (IllegalArgumentException); the extent of the memory cannot be: the caller guarantees it.
 *   <li>Buffer methods on direct native-order {@link FloatBuffer}s: operands start at {@code
 *       position()}, every extent is checked against {@code remaining()} and outputs must be
 *       writable, before the native call, so a bad shape is an IllegalArgumentException, never a
 *       crash.
 * </ul>
 *
 * Outputs must not overlap inputs except where a method says "in place". Sizes of 0 return
 * without a native call. All methods throw {@link IllegalStateException} when {@link
 * NativeLibrary#isAvailable()} is false. Results do not depend on the thread count ({@link
 * Sparse24#setNumThreads}, shared by all native kernels); the causal softmax runs on the calling
 * thread only (the worker calls it from its own kernel threads).
 */
public final class Fused {
  private Fused() {}

  private static void require() {
    if (!NativeLibrary.isAvailable()) {
      throw new IllegalStateException(
          "lowrank native kernels unavailable: " + NativeLibrary.unavailableReason());
    }
  }

  // ---- argument checks -------------------------------------------------------------------

  private static void checkCount(String name, long n) {
    if (n < 0) {
      throw new IllegalArgumentException(name + " is negative: " + n);
    }
  }

  /** An address operand: offset >= 0, address != 0 when elements are needed; returns its byte address. */
  private static long addr(String name, long address, long off, long extent) {
    if (off < 0) {
      throw new IllegalArgumentException(name + " offset is negative: " + off);
    }
    if (extent > 0 && address == 0) {
      throw new IllegalArgumentException(name + " address is 0 but " + extent + " elements are needed");
    }
    return address + 4 * off;
  }

  /** A buffer operand: direct, native order, at least `need` remaining, writable if an output. */
  private static void buf(String name, FloatBuffer b, long need, boolean output) {
    if (b == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!b.isDirect()) {
      throw new IllegalArgumentException(name + " must be a direct buffer");
    }
    if (b.order() != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(name + " must be in native byte order");
    }
    Sparse24Layout.checkRemaining(name, b, need);
    if (output) {
      Sparse24Layout.checkWritable(name, b);
    }
  }

  private static long pos(FloatBuffer b) {
    return 4L * b.position();
  }

  private static long matrix(int rows, int d) {
    if (rows < 0 || d < 0) {
      throw new IllegalArgumentException("negative shape [" + rows + ", " + d + "]");
    }
    return (long) rows * d;
  }

  /** Every target is in [0, vocab) or the ignore index; targets.length == rows. */
  private static void checkTargets(int[] targets, int rows, int vocab, int ignoreIndex) {
    if (targets == null || targets.length != rows) {
      throw new IllegalArgumentException(
          (targets == null ? "null" : targets.length) + " targets for " + rows + " rows of logits");
    }
    for (int r = 0; r < rows; r++) {
      int t = targets[r];
      if (t != ignoreIndex && (t < 0 || t >= vocab)) {
        throw new IllegalArgumentException(
            "target id " + t + " at row " + r + " outside vocabulary of " + vocab);
      }
    }
  }

  private static void checkAdam(long step) {
    if (step < 1) {
      throw new IllegalArgumentException("AdamW step must be >= 1, got " + step);
    }
  }

  private static long softmaxExtent(int n, long ld, String name) {
    if (n < 0) {
      throw new IllegalArgumentException("negative block size " + n);
    }
    Sparse24Layout.checkLd(name, ld, n);
    return Sparse24Layout.denseExtent(n, n, ld);
  }

  /**
   * RoPE shape: rows >= 0, seqLen >= 1, heads >= 1, headDim >= 2 and even; returns {x extent,
   * table extent} (x [rows, heads * headDim], cos/sin [seqLen, headDim / 2]).
   */
  private static long[] ropeExtents(int rows, int seqLen, int heads, int headDim) {
    if (rows < 0) {
      throw new IllegalArgumentException("rope: negative rows " + rows);
    }
    if (seqLen < 1 || heads < 1) {
      throw new IllegalArgumentException("rope: seqLen " + seqLen + " and heads " + heads + " must be >= 1");
    }
    if (headDim < 2 || headDim % 2 != 0) {
      throw new IllegalArgumentException("rope: head dim " + headDim + " must be even and >= 2");
    }
    return new long[] {(long) rows * heads * headDim, (long) seqLen * (headDim / 2)};
  }

  // ---- address methods -------------------------------------------------------------------

  /** z = h * sigmoid(h) over n elements; in place (z == h) allowed. */
  public static void silu(long h, long hOff, long z, long zOff, long n) {
    checkCount("n", n);
    long ph = addr("h", h, hOff, n);
    long pz = addr("z", z, zOff, n);
    if (n == 0) {
      return;
    }
    require();
    nSilu(null, ph, null, pz, n);
  }

  /** dh = dz * s (1 + h (1 - s)), s = sigmoid(h); dh may be h or dz. */
  public static void siluBackward(long h, long hOff, long dz, long dzOff, long dh, long dhOff, long n) {
    checkCount("n", n);
    long ph = addr("h", h, hOff, n);
    long pz = addr("dz", dz, dzOff, n);
    long pd = addr("dh", dh, dhOff, n);
    if (n == 0) {
      return;
    }
    require();
    nSiluBackward(null, ph, null, pz, null, pd, n);
  }

  /** out = act(g) * u, act = SiLU if siluOnGate else identity; out may be g or u. */
  public static void swiglu(
      long g, long gOff, long u, long uOff, long out, long outOff, long n, boolean siluOnGate) {
    checkCount("n", n);
    long pg = addr("g", g, gOff, n);
    long pu = addr("u", u, uOff, n);
    long po = addr("out", out, outOff, n);
    if (n == 0) {
      return;
    }
    require();
    nSwiglu(null, pg, null, pu, null, po, n, siluOnGate);
  }

  /** du = dOut * act(g), dg = dOut * u * act'(g). */
  public static void swigluBackward(
      long g, long gOff, long u, long uOff, long dOut, long dOutOff, long dg, long dgOff, long du,
      long duOff, long n, boolean siluOnGate) {
    checkCount("n", n);
    long pg = addr("g", g, gOff, n);
    long pu = addr("u", u, uOff, n);
    long pd = addr("dOut", dOut, dOutOff, n);
    long pdg = addr("dg", dg, dgOff, n);
    long pdu = addr("du", du, duOff, n);
    if (n == 0) {
      return;
    }
    require();
    nSwigluBackward(null, pg, null, pu, null, pd, null, pdg, null, pdu, n, siluOnGate);
  }

  /** RMSNorm of x[rows, d]: invRms[rows], out = w * (x * invRms). */
  public static void rmsNorm(
      long x, long xOff, long w, long wOff, double eps, long out, long outOff, long invRms,
      long invOff, int rows, int d) {
    long n = matrix(rows, d);
    long px = addr("x", x, xOff, n);
    long pw = addr("w", w, wOff, rows == 0 ? 0 : d);
    long po = addr("out", out, outOff, n);
    long pi = addr("invRms", invRms, invOff, d == 0 ? 0 : rows);
    if (n == 0) {
      return;
    }
    require();
    nRmsNorm(null, px, null, pw, eps, null, po, null, pi, rows, d);
  }

  /** RMSNorm backward: dx (writes), dw += sum over rows (accumulates). */
  public static void rmsNormBackward(
      long x, long xOff, long w, long wOff, long invRms, long invOff, long dOut, long dOutOff,
      long dx, long dxOff, long dw, long dwOff, int rows, int d) {
    long n = matrix(rows, d);
    long px = addr("x", x, xOff, n);
    long pw = addr("w", w, wOff, rows == 0 ? 0 : d);
    long pi = addr("invRms", invRms, invOff, d == 0 ? 0 : rows);
    long pd = addr("dOut", dOut, dOutOff, n);
    long pdx = addr("dx", dx, dxOff, n);
    long pdw = addr("dw", dw, dwOff, rows == 0 ? 0 : d);
    if (n == 0) {
      return;
    }
    require();
    nRmsNormBackward(null, px, null, pw, null, pi, null, pd, null, pdx, null, pdw, rows, d);
  }

  /**
   * Cross-entropy of logits[rows, vocab] against targets (ignoreIndex rows: loss 0, gradient 0):
   * replaces the logits by gradScale * (softmax - onehot) and returns the sum of the losses.
   */
  public static double crossEntropy(
      long logits, long off, int rows, int vocab, int[] targets, int ignoreIndex, float gradScale) {
    long n = matrix(rows, vocab);
    checkTargets(targets, rows, vocab, ignoreIndex);
    long pl = addr("logits", logits, off, n);
    if (n == 0) {
      return 0.0;
    }
    require();
    return nCrossEntropy(null, pl, rows, vocab, targets, 0, ignoreIndex, gradScale);
  }

  /** One AdamW step (PyTorch semantics) over n elements of p, g, m, v. */
  public static void adamw(
      long p, long pOff, long g, long gOff, long m, long mOff, long v, long vOff, long n, double lr,
      double beta1, double beta2, double eps, double weightDecay, long step) {
    checkCount("n", n);
    checkAdam(step);
    long pp = addr("p", p, pOff, n);
    long pg = addr("g", g, gOff, n);
    long pm = addr("m", m, mOff, n);
    long pv = addr("v", v, vOff, n);
    if (n == 0) {
      return;
    }
    require();
    nAdamw(null, pp, null, pg, null, pm, null, pv, n, lr, beta1, beta2, eps, weightDecay, step);
  }

  /** Causal softmax of one [n, n] block (leading dim ldp) in place; calling thread only. */
  public static void causalSoftmax(long p, long pOff, int n, int ldp) {
    long pp = addr("p", p, pOff, softmaxExtent(n, ldp, "ldp"));
    if (n == 0) {
      return;
    }
    require();
    nCausalSoftmax(null, pp, n, ldp);
  }

  /** Its backward in place over dp (leading dim lddp) from the probabilities p; calling thread only. */
  public static void causalSoftmaxBackward(long p, long pOff, int ldp, long dp, long dpOff, int lddp, int n) {
    long pp = addr("p", p, pOff, softmaxExtent(n, ldp, "ldp"));
    long pd = addr("dp", dp, dpOff, softmaxExtent(n, lddp, "lddp"));
    if (n == 0) {
      return;
    }
    require();
    nCausalSoftmaxBackward(null, pp, ldp, null, pd, lddp, n);
  }

  /**
   * Rotary position embedding in place over x[rows, heads * headDim]: row r is position r % seqLen;
   * in each head the pairs (i, headDim/2 + i) are rotated by the angle whose cos and sin are entry
   * (position, i) of cos/sin [seqLen, headDim/2]; inverse rotates by the opposite angle (the
   * backward).
   */
  public static void rope(
      long x, long xOff, long cos, long cosOff, long sin, long sinOff, int rows, int seqLen,
      int heads, int headDim, boolean inverse) {
    long[] e = ropeExtents(rows, seqLen, heads, headDim);
    long px = addr("x", x, xOff, e[0]);
    long pc = addr("cos", cos, cosOff, e[0] == 0 ? 0 : e[1]);
    long ps = addr("sin", sin, sinOff, e[0] == 0 ? 0 : e[1]);
    if (e[0] == 0) {
      return;
    }
    require();
    nRope(null, px, null, pc, null, ps, rows, seqLen, heads, headDim, inverse);
  }

  /** y = max(x, 0)^2 over n elements (ELAS); in place (y == x) allowed. */
  public static void reluSquare(long x, long xOff, long y, long yOff, long n) {
    checkCount("n", n);
    long px = addr("x", x, xOff, n);
    long py = addr("y", y, yOff, n);
    if (n == 0) {
      return;
    }
    require();
    nReluSquare(null, px, null, py, n);
  }

  /** dx = 2 max(x, 0) dy; dx may be x or dy. */
  public static void reluSquareBackward(long x, long xOff, long dy, long dyOff, long dx, long dxOff, long n) {
    checkCount("n", n);
    long px = addr("x", x, xOff, n);
    long pdy = addr("dy", dy, dyOff, n);
    long pdx = addr("dx", dx, dxOff, n);
    if (n == 0) {
      return;
    }
    require();
    nReluSquareBackward(null, px, null, pdy, null, pdx, n);
  }

  // ---- buffer methods (checked) ----------------------------------------------------------

  /** Checked buffer version of {@link #silu(long, long, long, long, long)}. */
  public static void silu(FloatBuffer h, FloatBuffer z, int n) {
    checkCount("n", n);
    buf("h", h, n, false);
    buf("z", z, n, true);
    if (n == 0) {
      return;
    }
    require();
    nSilu(h, pos(h), z, pos(z), n);
  }

  public static void siluBackward(FloatBuffer h, FloatBuffer dz, FloatBuffer dh, int n) {
    checkCount("n", n);
    buf("h", h, n, false);
    buf("dz", dz, n, false);
    buf("dh", dh, n, true);
    if (n == 0) {
      return;
    }
    require();
    nSiluBackward(h, pos(h), dz, pos(dz), dh, pos(dh), n);
  }

  public static void swiglu(FloatBuffer g, FloatBuffer u, FloatBuffer out, int n, boolean siluOnGate) {
    checkCount("n", n);
    buf("g", g, n, false);
    buf("u", u, n, false);
    buf("out", out, n, true);
    if (n == 0) {
      return;
    }
    require();
    nSwiglu(g, pos(g), u, pos(u), out, pos(out), n, siluOnGate);
  }

  public static void swigluBackward(
      FloatBuffer g, FloatBuffer u, FloatBuffer dOut, FloatBuffer dg, FloatBuffer du, int n,
      boolean siluOnGate) {
    checkCount("n", n);
    buf("g", g, n, false);
    buf("u", u, n, false);
    buf("dOut", dOut, n, false);
    buf("dg", dg, n, true);
    buf("du", du, n, true);
    if (n == 0) {
      return;
    }
    require();
    nSwigluBackward(g, pos(g), u, pos(u), dOut, pos(dOut), dg, pos(dg), du, pos(du), n, siluOnGate);
  }

  public static void rmsNorm(
      FloatBuffer x, FloatBuffer w, double eps, FloatBuffer out, FloatBuffer invRms, int rows, int d) {
    long n = matrix(rows, d);
    buf("x", x, n, false);
    buf("w", w, d, false);
    buf("out", out, n, true);
    buf("invRms", invRms, rows, true);
    if (n == 0) {
      return;
    }
    require();
    nRmsNorm(x, pos(x), w, pos(w), eps, out, pos(out), invRms, pos(invRms), rows, d);
  }

  public static void rmsNormBackward(
      FloatBuffer x, FloatBuffer w, FloatBuffer invRms, FloatBuffer dOut, FloatBuffer dx,
      FloatBuffer dw, int rows, int d) {
    long n = matrix(rows, d);
    buf("x", x, n, false);
    buf("w", w, d, false);
    buf("invRms", invRms, rows, false);
    buf("dOut", dOut, n, false);
    buf("dx", dx, n, true);
    buf("dw", dw, d, true);
    if (n == 0) {
      return;
    }
    require();
    nRmsNormBackward(x, pos(x), w, pos(w), invRms, pos(invRms), dOut, pos(dOut), dx, pos(dx), dw, pos(dw), rows, d);
  }

  public static double crossEntropy(
      FloatBuffer logits, int rows, int vocab, int[] targets, int ignoreIndex, float gradScale) {
    long n = matrix(rows, vocab);
    checkTargets(targets, rows, vocab, ignoreIndex);
    buf("logits", logits, n, true);
    if (n == 0) {
      return 0.0;
    }
    require();
    return nCrossEntropy(logits, pos(logits), rows, vocab, targets, 0, ignoreIndex, gradScale);
  }

  public static void adamw(
      FloatBuffer p, FloatBuffer g, FloatBuffer m, FloatBuffer v, int n, double lr, double beta1,
      double beta2, double eps, double weightDecay, long step) {
    checkCount("n", n);
    checkAdam(step);
    buf("p", p, n, true);
    buf("g", g, n, false);
    buf("m", m, n, true);
    buf("v", v, n, true);
    if (n == 0) {
      return;
    }
    require();
    nAdamw(p, pos(p), g, pos(g), m, pos(m), v, pos(v), n, lr, beta1, beta2, eps, weightDecay, step);
  }

  public static void causalSoftmax(FloatBuffer p, int n, int ldp) {
    buf("p", p, softmaxExtent(n, ldp, "ldp"), true);
    if (n == 0) {
      return;
    }
    require();
    nCausalSoftmax(p, pos(p), n, ldp);
  }

  public static void causalSoftmaxBackward(FloatBuffer p, int ldp, FloatBuffer dp, int lddp, int n) {
    buf("p", p, softmaxExtent(n, ldp, "ldp"), false);
    buf("dp", dp, softmaxExtent(n, lddp, "lddp"), true);
    if (n == 0) {
      return;
    }
    require();
    nCausalSoftmaxBackward(p, pos(p), ldp, dp, pos(dp), lddp, n);
  }

  public static void rope(
      FloatBuffer x, FloatBuffer cos, FloatBuffer sin, int rows, int seqLen, int heads, int headDim,
      boolean inverse) {
    long[] e = ropeExtents(rows, seqLen, heads, headDim);
    buf("x", x, e[0], true);
    buf("cos", cos, e[1], false);
    buf("sin", sin, e[1], false);
    if (e[0] == 0) {
      return;
    }
    require();
    nRope(x, pos(x), cos, pos(cos), sin, pos(sin), rows, seqLen, heads, headDim, inverse);
  }

  public static void reluSquare(FloatBuffer x, FloatBuffer y, int n) {
    checkCount("n", n);
    buf("x", x, n, false);
    buf("y", y, n, true);
    if (n == 0) {
      return;
    }
    require();
    nReluSquare(x, pos(x), y, pos(y), n);
  }

  public static void reluSquareBackward(FloatBuffer x, FloatBuffer dy, FloatBuffer dx, int n) {
    checkCount("n", n);
    buf("x", x, n, false);
    buf("dy", dy, n, false);
    buf("dx", dx, n, true);
    if (n == 0) {
      return;
    }
    require();
    nReluSquareBackward(x, pos(x), dy, pos(dy), dx, pos(dx), n);
  }

  // ---- JNI (cpp/jni/fused_jni.cpp): each float operand is (direct buffer, byte offset) or
  // (null, absolute byte address) ----------------------------------------------------------

  private static native void nSilu(FloatBuffer h, long ho, FloatBuffer z, long zo, long n);

  private static native void nSiluBackward(
      FloatBuffer h, long ho, FloatBuffer dz, long dzo, FloatBuffer dh, long dho, long n);

  private static native void nSwiglu(
      FloatBuffer g, long go, FloatBuffer u, long uo, FloatBuffer out, long oo, long n, boolean silu);

  private static native void nSwigluBackward(
      FloatBuffer g, long go, FloatBuffer u, long uo, FloatBuffer dOut, long doo, FloatBuffer dg,
      long dgo, FloatBuffer du, long duo, long n, boolean silu);

  private static native void nRmsNorm(
      FloatBuffer x, long xo, FloatBuffer w, long wo, double eps, FloatBuffer out, long oo,
      FloatBuffer inv, long io, long rows, long d);

  private static native void nRmsNormBackward(
      FloatBuffer x, long xo, FloatBuffer w, long wo, FloatBuffer inv, long io, FloatBuffer dOut,
      long doo, FloatBuffer dx, long dxo, FloatBuffer dw, long dwo, long rows, long d);

  private static native double nCrossEntropy(
      FloatBuffer logits, long lo, long rows, long vocab, int[] targets, int tOff, int ignore,
      float scale);

  private static native void nAdamw(
      FloatBuffer p, long po, FloatBuffer g, long go, FloatBuffer m, long mo, FloatBuffer v, long vo,
      long n, double lr, double b1, double b2, double eps, double wd, long step);

  private static native void nCausalSoftmax(FloatBuffer p, long po, long n, long ldp);

  private static native void nCausalSoftmaxBackward(
      FloatBuffer p, long po, long ldp, FloatBuffer dp, long dpo, long lddp, long n);

  private static native void nRope(
      FloatBuffer x, long xo, FloatBuffer cos, long co, FloatBuffer sin, long so, long rows,
      long seqLen, long heads, long headDim, boolean inverse);

  private static native void nReluSquare(FloatBuffer x, long xo, FloatBuffer y, long yo, long n);

  private static native void nReluSquareBackward(
      FloatBuffer x, long xo, FloatBuffer dy, long dyo, FloatBuffer dx, long dxo, long n);
}
