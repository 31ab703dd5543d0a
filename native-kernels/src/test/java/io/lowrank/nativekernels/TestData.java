package io.lowrank.nativekernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/** Random inputs and buffer helpers shared by the tests. */
final class TestData {
  private TestData() {}

  /** Odd shapes: rows = 1, cols not a multiple of 4 or 8, tails, block edges. {rows, cols, n}. */
  static final int[][] SHAPES = {
    {1, 1, 1}, {1, 4, 1}, {1, 5, 3}, {2, 7, 17}, {3, 13, 33}, {1, 2064, 128}, {5, 3, 40},
    {7, 63, 100}, {2, 8, 15}, {33, 4, 64}, {129, 257, 129}, {130, 2063, 77}, {64, 300, 257},
    {257, 521, 16}, {11, 66, 300}, {0, 9, 5}, {4, 0, 9}, {131, 1029, 31}, {3, 4105, 65}
  };

  static FloatBuffer directFloats(long n) {
    return ByteBuffer.allocateDirect((int) Math.max(1, 4 * n))
        .order(ByteOrder.nativeOrder())
        .asFloatBuffer();
  }

  /** sun.misc.Unsafe, for off-heap memory given to the address API (as ND4J's buffers are). */
  static sun.misc.Unsafe unsafe() throws ReflectiveOperationException {
    java.lang.reflect.Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
    f.setAccessible(true);
    return (sun.misc.Unsafe) f.get(null);
  }

  static ByteBuffer directBytes(long n) {
    return ByteBuffer.allocateDirect((int) Math.max(1, n));
  }

  /** uniform(-1,1) with ~25% exact ties (+-1, +-0.5, +-0, +-2); never all zeros. */
  static float[] random(SplittableRandom rnd, int n, boolean ties, boolean relu2) {
    float[] pool = {1f, -1f, 0.5f, -0.5f, 0f, -0f, 2f, -2f};
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      float x = ties && rnd.nextInt(4) == 0 ? pool[rnd.nextInt(8)] : (float) (2 * rnd.nextDouble() - 1);
      a[i] = relu2 ? (x > 0 ? x * x : 0f) : x;
    }
    if (n > 0) {
      a[0] = 0.75f;
    }
    return a;
  }

  static FloatBuffer direct(float[] a) {
    FloatBuffer b = directFloats(a.length);
    b.put(a).clear();
    return b;
  }

  static float[] toArray(FloatBuffer b, int n) {
    float[] a = new float[n];
    b.get(0, a, 0, n);
    return a;
  }

  static byte[] toArray(ByteBuffer b, int n) {
    byte[] a = new byte[n];
    b.get(0, a, 0, n);
    return a;
  }

  /** ||out - ref|| / ||ref|| over the [rows, n] part of ld-strided matrices. */
  static double relErr(float[] out, float[] ref, int rows, int n, int ld) {
    double num = 0;
    double den = 0;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < n; c++) {
        double d = (double) out[r * ld + c] - ref[r * ld + c];
        num += d * d;
        den += (double) ref[r * ld + c] * ref[r * ld + c];
      }
    }
    return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
  }

  /** A compressed operand produced by the Java implementation. */
  static final class Compressed {
    final int rows;
    final int cols;
    final FloatBuffer vals;
    final ByteBuffer meta;
    final FloatBuffer tail;

    Compressed(int rows, int cols) {
      this.rows = rows;
      this.cols = cols;
      vals = directFloats(Sparse24Layout.valuesLength(rows, cols));
      meta = directBytes(Sparse24Layout.metaLength(rows, cols));
      tail = cols % 4 == 0 ? null : directFloats(Sparse24Layout.tailLength(rows, cols));
    }

    static Compressed of(float[] x, int rows, int cols) {
      Compressed c = new Compressed(rows, cols);
      Sparse24Java.INSTANCE.prune24Compress(direct(x), cols, rows, cols, c.vals, c.meta, c.tail);
      return c;
    }
  }
}
