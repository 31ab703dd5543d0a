package io.lowrank.nativekernels;

import static io.lowrank.nativekernels.Sparse24Layout.checkCompressed;
import static io.lowrank.nativekernels.Sparse24Layout.checkDims;
import static io.lowrank.nativekernels.Sparse24Layout.checkLd;
import static io.lowrank.nativekernels.Sparse24Layout.checkRemaining;
import static io.lowrank.nativekernels.Sparse24Layout.checkWritable;
import static io.lowrank.nativekernels.Sparse24Layout.denseExtent;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Pure-Java implementation of the 2:4 operations, same layout and contracts as the native
 * kernels ({@link Sparse24Layout}): the fallback when the native library is unavailable and the
 * oracle the native kernels are tested against. Works on heap or direct buffers of any byte
 * order. Products accumulate in float per output row (like the native kernels); compress and
 * decompress are exact, bit for bit equal to the native ones.
 */
public final class Sparse24Java implements Sparse24Kernels {
  /** The instance for {@link Sparse24Kernels} callers. */
  public static final Sparse24Java INSTANCE = new Sparse24Java();

  private Sparse24Java() {}

  /** The 4-bit keep mask of one group: i kept iff fewer than 2 others beat it. */
  static int keepMask(float a, float b, float c, float d) {
    int k0 = Float.floatToRawIntBits(a) & 0x7fffffff;
    int k1 = Float.floatToRawIntBits(b) & 0x7fffffff;
    int k2 = Float.floatToRawIntBits(c) & 0x7fffffff;
    int k3 = Float.floatToRawIntBits(d) & 0x7fffffff;
    // j beats i: key_j > key_i, or equal and j < i
    int r0 = (k1 > k0 ? 1 : 0) + (k2 > k0 ? 1 : 0) + (k3 > k0 ? 1 : 0);
    int r1 = (k0 >= k1 ? 1 : 0) + (k2 > k1 ? 1 : 0) + (k3 > k1 ? 1 : 0);
    int r2 = (k0 >= k2 ? 1 : 0) + (k1 >= k2 ? 1 : 0) + (k3 > k2 ? 1 : 0);
    int r3 = (k0 >= k3 ? 1 : 0) + (k1 >= k3 ? 1 : 0) + (k2 >= k3 ? 1 : 0);
    return (r0 < 2 ? 1 : 0) | (r1 < 2 ? 2 : 0) | (r2 < 2 ? 4 : 0) | (r3 < 2 ? 8 : 0);
  }

  @Override
  public void prune24Compress(
      FloatBuffer x, int ldx, int rows, int cols, FloatBuffer vals, ByteBuffer meta,
      FloatBuffer tail) {
    checkDims(rows, cols, 0);
    checkLd("ldx", ldx, cols);
    checkRemaining("x", x, denseExtent(rows, cols, ldx));
    checkCompressed(vals, meta, tail, rows, cols);
    checkWritable("vals", vals);
    checkWritable("meta", meta);
    checkWritable("tail", tail);
    if (rows == 0 || cols == 0) {
      return;
    }
    final int groups = cols / 4;
    final int tw = cols % 4;
    final int xp = x.position();
    final int vp = vals.position();
    final int mp = meta.position();
    final int tp = tail == null ? 0 : tail.position();
    float[] row = new float[cols];
    for (int r = 0; r < rows; r++) {
      x.get(xp + r * ldx, row, 0, cols);
      for (int g = 0; g < groups; g++) {
        int b = 4 * g;
        int keep = keepMask(row[b], row[b + 1], row[b + 2], row[b + 3]);
        int i0 = Integer.numberOfTrailingZeros(keep);
        int i1 = 31 - Integer.numberOfLeadingZeros(keep);
        vals.put(vp + r * 2 * groups + 2 * g, row[b + i0]);
        vals.put(vp + r * 2 * groups + 2 * g + 1, row[b + i1]);
        meta.put(mp + r * groups + g, (byte) (i0 | i1 << 2));
      }
      for (int t = 0; t < tw; t++) {
        tail.put(tp + r * tw + t, row[4 * groups + t]);
      }
    }
  }

  @Override
  public void decompress24(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer y,
      int ldy) {
    checkDims(rows, cols, 0);
    checkLd("ldy", ldy, cols);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("y", y, denseExtent(rows, cols, ldy));
    checkWritable("y", y);
    if (rows == 0 || cols == 0) {
      return;
    }
    final int groups = cols / 4;
    final int tw = cols % 4;
    final int vp = vals.position();
    final int mp = meta.position();
    final int tp = tail == null ? 0 : tail.position();
    final int yp = y.position();
    float[] row = new float[cols];
    for (int r = 0; r < rows; r++) {
      for (int g = 0; g < groups; g++) {
        int m = meta.get(mp + r * groups + g);
        int b = 4 * g;
        row[b] = row[b + 1] = row[b + 2] = row[b + 3] = 0.0f;
        row[b + (m & 3)] = vals.get(vp + r * 2 * groups + 2 * g);
        row[b + ((m >> 2) & 3)] = vals.get(vp + r * 2 * groups + 2 * g + 1);
      }
      for (int t = 0; t < tw; t++) {
        row[4 * groups + t] = tail.get(tp + r * tw + t);
      }
      y.put(yp + r * ldy, row, 0, cols);
    }
  }

  @Override
  public void spmm24nn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer w,
      int ldw, int n, float beta, FloatBuffer y, int ldy) {
    checkDims(rows, cols, n);
    checkLd("ldw", ldw, n);
    checkLd("ldy", ldy, n);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("w", w, denseExtent(cols, n, ldw));
    checkRemaining("y", y, denseExtent(rows, n, ldy));
    checkWritable("y", y);
    if (rows == 0 || n == 0) {
      return;
    }
    final int groups = cols / 4;
    final int tw = cols % 4;
    final int vp = vals.position();
    final int mp = meta.position();
    final int tp = tail == null ? 0 : tail.position();
    final int yp = y.position();
    float[] wa = toArray(w, denseExtent(cols, n, ldw));
    float[] acc = new float[n];
    for (int r = 0; r < rows; r++) {
      if (beta == 0.0f) {
        java.util.Arrays.fill(acc, 0.0f);
      } else {
        y.get(yp + r * ldy, acc, 0, n);
        if (beta != 1.0f) {
          for (int c = 0; c < n; c++) {
            acc[c] *= beta;
          }
        }
      }
      for (int g = 0; g < groups; g++) {
        int m = meta.get(mp + r * groups + g);
        axpy(acc, vals.get(vp + r * 2 * groups + 2 * g), wa, (4 * g + (m & 3)) * ldw, n);
        axpy(acc, vals.get(vp + r * 2 * groups + 2 * g + 1), wa, (4 * g + ((m >> 2) & 3)) * ldw, n);
      }
      for (int t = 0; t < tw; t++) {
        axpy(acc, tail.get(tp + r * tw + t), wa, (4 * groups + t) * ldw, n);
      }
      y.put(yp + r * ldy, acc, 0, n);
    }
  }

  @Override
  public void spmm24tn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer g,
      int ldg, int n, float beta, FloatBuffer dw, int lddw) {
    checkDims(rows, cols, n);
    checkLd("ldg", ldg, n);
    checkLd("lddw", lddw, n);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("g", g, denseExtent(rows, n, ldg));
    checkRemaining("dw", dw, denseExtent(cols, n, lddw));
    checkWritable("dw", dw);
    if (cols == 0 || n == 0) {
      return;
    }
    final int groups = cols / 4;
    final int tw = cols % 4;
    final int vp = vals.position();
    final int mp = meta.position();
    final int tp = tail == null ? 0 : tail.position();
    final int dp = dw.position();
    float[] d = new float[cols * n]; // dense [cols, n] accumulator
    if (beta != 0.0f) {
      for (int j = 0; j < cols; j++) {
        dw.get(dp + j * lddw, d, j * n, n);
      }
      if (beta != 1.0f) {
        for (int i = 0; i < d.length; i++) {
          d[i] *= beta;
        }
      }
    }
    float[] gr = new float[n];
    final int gpos = g.position();
    for (int r = 0; r < rows; r++) {
      g.get(gpos + r * ldg, gr, 0, n);
      for (int k = 0; k < groups; k++) {
        int m = meta.get(mp + r * groups + k);
        axpyInto(d, (4 * k + (m & 3)) * n, vals.get(vp + r * 2 * groups + 2 * k), gr, n);
        axpyInto(d, (4 * k + ((m >> 2) & 3)) * n, vals.get(vp + r * 2 * groups + 2 * k + 1), gr, n);
      }
      for (int t = 0; t < tw; t++) {
        axpyInto(d, (4 * groups + t) * n, tail.get(tp + r * tw + t), gr, n);
      }
    }
    for (int j = 0; j < cols; j++) {
      dw.put(dp + j * lddw, d, j * n, n);
    }
  }

  /** acc[0..n) += s * a[off..off+n) */
  private static void axpy(float[] acc, float s, float[] a, int off, int n) {
    for (int c = 0; c < n; c++) {
      acc[c] += s * a[off + c];
    }
  }

  /** d[off..off+n) += s * x[0..n) */
  private static void axpyInto(float[] d, int off, float s, float[] x, int n) {
    for (int c = 0; c < n; c++) {
      d[off + c] += s * x[c];
    }
  }

  private static float[] toArray(FloatBuffer b, long extent) {
    if (extent > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("operand too large for the Java path: " + extent);
    }
    float[] a = new float[(int) extent];
    b.get(b.position(), a, 0, (int) extent);
    return a;
  }
}
