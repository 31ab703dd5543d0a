package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lowrank.nativekernels.TestData.Compressed;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Native kernels against {@link Sparse24Java} on random odd shapes, every ISA path this CPU has
 * and several thread counts. Bounds: compress/decompress bit-exact; products
 * ||native - java|| / ||java|| <= 1e-5. Skipped (not failed) when the native library is
 * unavailable; the argument checks run either way.
 */
class Sparse24NativeTest {
  private static final Sparse24Java J = Sparse24Java.INSTANCE;

  @AfterEach
  void restore() {
    if (NativeLibrary.isAvailable()) {
      Sparse24.setIsa(Sparse24.cpuIsa());
      Sparse24.setNumThreads(2);
    }
  }

  @Test
  void badShapesThrowBeforeAnyNativeCall() {
    // the checks run before require(): this passes with or without the library
    BadShapes.assertAllThrow(Sparse24.kernels());
    FloatBuffer heap = FloatBuffer.allocate(40);
    FloatBuffer vals = TestData.directFloats(20);
    ByteBuffer meta = TestData.directBytes(10);
    assertThrows(
        IllegalArgumentException.class,
        () -> Sparse24.prune24Compress(heap, 4, 10, 4, vals, meta, null),
        "heap buffer");
    FloatBuffer bigEndian =
        ByteBuffer.allocateDirect(160)
            .order(ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN)
            .asFloatBuffer();
    assertThrows(
        IllegalArgumentException.class,
        () -> Sparse24.prune24Compress(bigEndian, 4, 10, 4, vals, meta, null),
        "wrong byte order");
    assertThrows(
        IllegalArgumentException.class,
        () -> Sparse24.spmm24nn(1L, 0, 1L, 0, 0L, 0, 3, 5, 1L, 0, 4, 4, 0f, 1L, 0, 4),
        "ldw < n on the address API");
    assertThrows(
        IllegalArgumentException.class,
        () -> Sparse24.spmm24tn(1L, 0, 1L, 0, 0L, 0, 3, 5, 1L, 0, 4, 4, 0f, 1L, 0, 4),
        "tail address 0 although cols % 4 != 0");
    assertThrows(
        IllegalArgumentException.class,
        () -> Sparse24.decompress24(1L, -1, 1L, 0, 0L, 0, 3, 8, 1L, 0, 8),
        "negative offset");
  }

  @Test
  void matchesJavaOnOddShapes() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom rnd = new SplittableRandom(5);
    for (int isa = Sparse24.ISA_AVX2; isa <= Sparse24.cpuIsa(); isa++) {
      assertEquals(isa, Sparse24.setIsa(isa));
      for (int threads : new int[] {1, 2, 3}) {
        Sparse24.setNumThreads(threads);
        for (int[] s : TestData.SHAPES) {
          check(rnd, s[0], s[1], s[2], "isa " + isa + " threads " + threads);
        }
      }
    }
  }

  private static void check(SplittableRandom rnd, int rows, int cols, int n, String ctx) {
    String what = ctx + " shape " + rows + "x" + cols + " n " + n;
    int ldx = cols + rnd.nextInt(3);
    float[] x = TestData.random(rnd, (int) Sparse24Layout.denseExtent(rows, cols, ldx) + 1, true, rnd.nextBoolean());
    FloatBuffer xb = TestData.direct(x);
    // compress: bit-exact
    Compressed cj = new Compressed(rows, cols);
    Compressed cn = new Compressed(rows, cols);
    J.prune24Compress(xb, ldx, rows, cols, cj.vals, cj.meta, cj.tail);
    Sparse24.prune24Compress(xb, ldx, rows, cols, cn.vals, cn.meta, cn.tail);
    int nv = (int) Sparse24Layout.valuesLength(rows, cols);
    int nm = (int) Sparse24Layout.metaLength(rows, cols);
    int nt = (int) Sparse24Layout.tailLength(rows, cols);
    assertArrayEquals(bits(TestData.toArray(cj.vals, nv)), bits(TestData.toArray(cn.vals, nv)), what + " vals");
    assertArrayEquals(TestData.toArray(cj.meta, nm), TestData.toArray(cn.meta, nm), what + " meta");
    if (nt > 0) {
      assertArrayEquals(bits(TestData.toArray(cj.tail, nt)), bits(TestData.toArray(cn.tail, nt)), what + " tail");
    }
    // decompress: bit-exact, padding untouched
    int ldy = cols + 2;
    int ext = (int) Sparse24Layout.denseExtent(rows, cols, ldy) + 2;
    FloatBuffer yj = TestData.direct(filled(ext, -7f));
    FloatBuffer yn = TestData.direct(filled(ext, -7f));
    J.decompress24(cj.vals, cj.meta, cj.tail, rows, cols, yj, ldy);
    Sparse24.decompress24(cn.vals, cn.meta, cn.tail, rows, cols, yn, ldy);
    assertArrayEquals(bits(TestData.toArray(yj, ext)), bits(TestData.toArray(yn, ext)), what + " decompress");
    // nn with beta in {0 (Y = NaN), 1, 0.5}, strided W and Y
    for (float beta : new float[] {0f, 1f, 0.5f}) {
      int ldw = n + rnd.nextInt(3);
      int ldo = n + rnd.nextInt(3);
      FloatBuffer w = TestData.direct(TestData.random(rnd, (int) Sparse24Layout.denseExtent(cols, n, ldw), false, false));
      int ye = (int) Sparse24Layout.denseExtent(rows, n, ldo);
      float[] y0 = beta == 0f ? filled(ye, Float.NaN) : TestData.random(rnd, ye, false, false);
      FloatBuffer oj = TestData.direct(y0);
      FloatBuffer on = TestData.direct(y0);
      J.spmm24nn(cj.vals, cj.meta, cj.tail, rows, cols, w, ldw, n, beta, oj, ldo);
      Sparse24.spmm24nn(cn.vals, cn.meta, cn.tail, rows, cols, w, ldw, n, beta, on, ldo);
      double e = TestData.relErr(TestData.toArray(on, ye), TestData.toArray(oj, ye), rows, n, ldo);
      assertTrue(e <= 1e-5, what + " nn beta " + beta + " rel err " + e);
    }
    // tn
    for (float beta : new float[] {0f, 1f, 0.5f}) {
      int ldg = n + rnd.nextInt(3);
      int ldd = n + rnd.nextInt(3);
      FloatBuffer g = TestData.direct(TestData.random(rnd, (int) Sparse24Layout.denseExtent(rows, n, ldg), false, false));
      int de = (int) Sparse24Layout.denseExtent(cols, n, ldd);
      float[] d0 = beta == 0f ? filled(de, Float.NaN) : TestData.random(rnd, de, false, false);
      FloatBuffer dj = TestData.direct(d0);
      FloatBuffer dn = TestData.direct(d0);
      J.spmm24tn(cj.vals, cj.meta, cj.tail, rows, cols, g, ldg, n, beta, dj, ldd);
      Sparse24.spmm24tn(cn.vals, cn.meta, cn.tail, rows, cols, g, ldg, n, beta, dn, ldd);
      double e = TestData.relErr(TestData.toArray(dn, de), TestData.toArray(dj, de), cols, n, ldd);
      assertTrue(e <= 1e-5, what + " tn beta " + beta + " rel err " + e);
    }
  }

  @Test
  void buffersAtNonZeroPositions() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom rnd = new SplittableRandom(9);
    int rows = 37;
    int cols = 103;
    int n = 45;
    float[] x = TestData.random(rnd, rows * cols, true, false);
    Compressed c = Compressed.of(x, rows, cols);
    // copy the operands into bigger buffers at offsets 3 / 5 / 1
    FloatBuffer vals = shifted(TestData.toArray(c.vals, (int) Sparse24Layout.valuesLength(rows, cols)), 3);
    ByteBuffer meta = TestData.directBytes(Sparse24Layout.metaLength(rows, cols) + 5);
    meta.position(5);
    meta.put(TestData.toArray(c.meta, (int) Sparse24Layout.metaLength(rows, cols))).position(5);
    FloatBuffer tail = shifted(TestData.toArray(c.tail, (int) Sparse24Layout.tailLength(rows, cols)), 1);
    float[] w = TestData.random(rnd, cols * n, false, false);
    FloatBuffer yj = TestData.directFloats(rows * n);
    FloatBuffer yn = shifted(new float[rows * n], 7);
    J.spmm24nn(c.vals, c.meta, c.tail, rows, cols, TestData.direct(w), n, n, 0f, yj, n);
    Sparse24.spmm24nn(vals, meta, tail, rows, cols, shifted(w, 2), n, n, 0f, yn, n);
    float[] out = new float[rows * n];
    yn.get(7, out, 0, rows * n);
    assertTrue(TestData.relErr(out, TestData.toArray(yj, rows * n), rows, n, n) <= 1e-5);
  }

  @Test
  void addressApiMatchesJava() throws Exception {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    sun.misc.Unsafe u = TestData.unsafe();
    SplittableRandom rnd = new SplittableRandom(3);
    int rows = 70;
    int cols = 131;
    int n = 66;
    int groups = cols / 4;
    float[] x = TestData.random(rnd, rows * cols, true, true);
    float[] g = TestData.random(rnd, rows * n, false, false);
    Compressed c = Compressed.of(x, rows, cols);
    long bytes = 4L * (rows * cols + rows * 2 * groups + rows * 3 + rows * n + cols * n + 64) + rows * groups;
    long base = u.allocateMemory(bytes);
    try {
      long xA = base;
      long vA = xA + 4L * rows * cols;
      long tA = vA + 4L * rows * 2 * groups;
      long gA = tA + 4L * rows * 3;
      long dA = gA + 4L * rows * n;
      long mA = dA + 4L * cols * n;
      for (int i = 0; i < rows * cols; i++) {
        u.putFloat(xA + 4L * i, x[i]);
      }
      for (int i = 0; i < rows * n; i++) {
        u.putFloat(gA + 4L * i, g[i]);
      }
      // element offsets: x starts at element 0, vals at element 0, meta at byte 0
      Sparse24.prune24Compress(xA, 0, cols, rows, cols, vA, 0, mA, 0, tA, 0);
      for (int i = 0; i < rows * groups; i++) {
        assertEquals(c.meta.get(i), u.getByte(mA + i));
        assertEquals(c.vals.get(2 * i), u.getFloat(vA + 8L * i));
      }
      // dW = S^T G via addresses, with a 1-element offset on G's rows dropped (gOff = n: skip row 0)
      Sparse24.spmm24tn(vA, 2L * groups, mA, groups, tA, 3, rows - 1, cols, gA, n, n, n, 0f, dA, 0, n);
      FloatBuffer dj = TestData.directFloats(cols * n);
      J.spmm24tn(
          BadShapes.slice(c.vals, 2 * groups),
          c.meta.duplicate().position(groups).slice(),
          BadShapes.slice(c.tail, 3),
          rows - 1, cols, BadShapes.slice(TestData.direct(g), n), n, n, 0f, dj, n);
      float[] out = new float[cols * n];
      for (int i = 0; i < cols * n; i++) {
        out[i] = u.getFloat(dA + 4L * i);
      }
      double e = TestData.relErr(out, TestData.toArray(dj, cols * n), cols, n, n);
      assertTrue(e <= 1e-5, "address tn rel err " + e);
    } finally {
      u.freeMemory(base);
    }
  }

  @Test
  void resultsDoNotDependOnThreadCount() {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    SplittableRandom rnd = new SplittableRandom(1);
    int rows = 300;
    int cols = 1030;
    int n = 150;
    Compressed c = Compressed.of(TestData.random(rnd, rows * cols, false, true), rows, cols);
    FloatBuffer w = TestData.direct(TestData.random(rnd, cols * n, false, false));
    FloatBuffer g = TestData.direct(TestData.random(rnd, rows * n, false, false));
    float[][] ys = new float[3][];
    float[][] ds = new float[3][];
    for (int t = 1; t <= 3; t++) {
      Sparse24.setNumThreads(t);
      FloatBuffer y = TestData.directFloats(rows * n);
      FloatBuffer d = TestData.directFloats(cols * n);
      Sparse24.spmm24nn(c.vals, c.meta, c.tail, rows, cols, w, n, n, 0f, y, n);
      Sparse24.spmm24tn(c.vals, c.meta, c.tail, rows, cols, g, n, n, 0f, d, n);
      ys[t - 1] = TestData.toArray(y, rows * n);
      ds[t - 1] = TestData.toArray(d, cols * n);
    }
    assertArrayEquals(bits(ys[0]), bits(ys[1]));
    assertArrayEquals(bits(ys[0]), bits(ys[2]));
    assertArrayEquals(bits(ds[0]), bits(ds[1]));
    assertArrayEquals(bits(ds[0]), bits(ds[2]));
  }

  private static FloatBuffer shifted(float[] a, int off) {
    FloatBuffer b = TestData.directFloats(a.length + off);
    b.position(off);
    b.put(a);
    b.position(off);
    return b;
  }

  private static float[] filled(int n, float v) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  private static int[] bits(float[] a) {
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = Float.floatToRawIntBits(a[i]);
    }
    return b;
  }
}
