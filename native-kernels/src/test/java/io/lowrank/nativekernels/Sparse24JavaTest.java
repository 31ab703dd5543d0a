package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lowrank.nativekernels.TestData.Compressed;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Java implementation against obvious double-precision math; runs everywhere. */
class Sparse24JavaTest {
  private static final Sparse24Java J = Sparse24Java.INSTANCE;

  private static int[] kept(float a, float b, float c, float d) {
    FloatBuffer v = TestData.directFloats(2);
    ByteBuffer m = TestData.directBytes(1);
    J.prune24Compress(TestData.direct(new float[] {a, b, c, d}), 4, 1, 4, v, m, null);
    int meta = m.get(0);
    assertEquals(0, meta >> 4, "bits 4-7 are zero");
    return new int[] {meta & 3, (meta >> 2) & 3};
  }

  @Test
  void selectionRule() {
    assertArrayEquals(new int[] {0, 1}, kept(1, 1, 1, 1), "ties go to the lower index");
    assertArrayEquals(new int[] {1, 2}, kept(0.1f, -3, 2, 0.5f));
    assertArrayEquals(new int[] {1, 2}, kept(0, -1, 1, 0), "|-1| == |1|");
    assertArrayEquals(new int[] {0, 3}, kept(2, 1, 1, 2));
    assertArrayEquals(new int[] {0, 2}, kept(1, 1, 2, 1), "tie for second");
    assertArrayEquals(new int[] {0, 1}, kept(-0f, 0f, 0f, -0f), "-0 == +0");
    assertArrayEquals(new int[] {1, 2}, kept(1, Float.NaN, Float.POSITIVE_INFINITY, 2), "NaN > inf");
    assertArrayEquals(new int[] {2, 3}, kept(0.25f, 0.5f, 0.75f, 1f));
  }

  @Test
  void roundTripAndProducts() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int[] s : TestData.SHAPES) {
      int rows = s[0];
      int cols = s[1];
      int n = s[2];
      float[] x = TestData.random(rnd, rows * cols, true, false);
      Compressed c = Compressed.of(x, rows, cols);
      // decompress: x at kept positions, +0 elsewhere, exactly two kept per group
      FloatBuffer yb = TestData.directFloats((long) rows * cols);
      J.decompress24(c.vals, c.meta, c.tail, rows, cols, yb, cols);
      float[] d = TestData.toArray(yb, rows * cols);
      for (int r = 0; r < rows; r++) {
        for (int g = 0; g < cols / 4; g++) {
          int nz = 0;
          for (int j = 0; j < 4; j++) {
            int i = r * cols + 4 * g + j;
            if (Float.floatToRawIntBits(d[i]) == Float.floatToRawIntBits(x[i])) {
              nz++;
            } else {
              assertEquals(0, Float.floatToRawIntBits(d[i]), "pruned -> +0");
            }
          }
          assertTrue(nz >= 2);
        }
        for (int j = 4 * (cols / 4); j < cols; j++) {
          assertEquals(x[r * cols + j], d[r * cols + j], "tail stays dense");
        }
      }
      // nn: Y = 0.5*Y0 + D.W against double math on the decompressed matrix
      float[] w = TestData.random(rnd, cols * n, false, false);
      float[] y0 = TestData.random(rnd, rows * n, false, false);
      FloatBuffer y = TestData.direct(y0);
      J.spmm24nn(c.vals, c.meta, c.tail, rows, cols, TestData.direct(w), n, n, 0.5f, y, n);
      float[] ref = new float[rows * n];
      for (int r = 0; r < rows; r++) {
        for (int k = 0; k < n; k++) {
          double acc = 0.5 * y0[r * n + k];
          for (int j = 0; j < cols; j++) {
            acc += (double) d[r * cols + j] * w[j * n + k];
          }
          ref[r * n + k] = (float) acc;
        }
      }
      assertTrue(TestData.relErr(TestData.toArray(y, rows * n), ref, rows, n, n) <= 1e-5);
      // tn: dW = D^T.G (beta 0: dW starts as NaN and must not be read)
      float[] g = TestData.random(rnd, rows * n, false, false);
      FloatBuffer dw = TestData.directFloats((long) cols * n);
      for (int i = 0; i < cols * n; i++) {
        dw.put(i, Float.NaN);
      }
      J.spmm24tn(c.vals, c.meta, c.tail, rows, cols, TestData.direct(g), n, n, 0f, dw, n);
      float[] ref2 = new float[cols * n];
      for (int j = 0; j < cols; j++) {
        for (int k = 0; k < n; k++) {
          double acc = 0;
          for (int r = 0; r < rows; r++) {
            acc += (double) d[r * cols + j] * g[r * n + k];
          }
          ref2[j * n + k] = (float) acc;
        }
      }
      assertTrue(TestData.relErr(TestData.toArray(dw, cols * n), ref2, cols, n, n) <= 1e-5);
    }
  }

  @Test
  void heapBuffersWork() {
    float[] x = {1, -2, 3, 0.5f, 9};
    FloatBuffer v = FloatBuffer.allocate(2);
    ByteBuffer m = ByteBuffer.allocate(1);
    FloatBuffer t = FloatBuffer.allocate(1);
    J.prune24Compress(FloatBuffer.wrap(x), 5, 1, 5, v, m, t);
    assertArrayEquals(new float[] {-2, 3}, v.array());
    assertEquals(1 | 2 << 2, m.get(0));
    assertEquals(9f, t.get(0));
  }

  @Test
  void badShapesThrow() {
    BadShapes.assertAllThrow(J);
  }
}
