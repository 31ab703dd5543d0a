package io.lowrank.nativekernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The four ELAS 2:4 operations on buffers (layout: {@link Sparse24Layout}). Two implementations:
 * the native kernels ({@link Sparse24#kernels()}) and the pure-Java one ({@link
 * Sparse24Java#INSTANCE}); {@link #best()} picks the native one when it loaded.
 *
 * <p>Every method checks shapes before doing anything and throws {@link
 * IllegalArgumentException} on a bad one. Outputs must not overlap inputs.
 */
public interface Sparse24Kernels {

  /** Dense X[rows, cols] (leading dim ldx) to (vals, meta, tail). tail may be null if cols%4==0. */
  void prune24Compress(
      FloatBuffer x, int ldx, int rows, int cols, FloatBuffer vals, ByteBuffer meta,
      FloatBuffer tail);

  /** (vals, meta, tail) to dense Y[rows, cols] (leading dim ldy), zeros at pruned positions. */
  void decompress24(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer y,
      int ldy);

  /**
   * Y[rows, n] = beta*Y + S[rows, cols] . W[cols, n]. beta == 0 overwrites Y without reading it;
   * beta == 1 accumulates.
   */
  void spmm24nn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer w,
      int ldw, int n, float beta, FloatBuffer y, int ldy);

  /** dW[cols, n] = beta*dW + S^T[cols, rows] . G[rows, n]. */
  void spmm24tn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer g,
      int ldg, int n, float beta, FloatBuffer dw, int lddw);

  /** Native kernels if they loaded on this machine, else the Java implementation. */
  static Sparse24Kernels best() {
    return NativeLibrary.isAvailable() ? Sparse24.kernels() : Sparse24Java.INSTANCE;
  }
}
