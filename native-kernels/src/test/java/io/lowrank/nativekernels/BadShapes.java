package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/** Bad arguments every implementation must reject with IllegalArgumentException. */
final class BadShapes {
  private BadShapes() {}

  static void assertAllThrow(Sparse24Kernels k) {
    int rows = 5;
    int cols = 10; // G = 2, T = 2
    int n = 7;
    FloatBuffer x = TestData.directFloats(rows * cols);
    FloatBuffer vals = TestData.directFloats(Sparse24Layout.valuesLength(rows, cols));
    ByteBuffer meta = TestData.directBytes(Sparse24Layout.metaLength(rows, cols));
    FloatBuffer tail = TestData.directFloats(Sparse24Layout.tailLength(rows, cols));
    FloatBuffer w = TestData.directFloats(cols * n);
    FloatBuffer y = TestData.directFloats(rows * n);
    FloatBuffer g = TestData.directFloats(rows * n);
    FloatBuffer dw = TestData.directFloats(cols * n);
    Class<IllegalArgumentException> iae = IllegalArgumentException.class;

    // compress
    assertThrows(iae, () -> k.prune24Compress(x, cols, -1, cols, vals, meta, tail));
    assertThrows(iae, () -> k.prune24Compress(x, cols - 1, rows, cols, vals, meta, tail));
    assertThrows(iae, () -> k.prune24Compress(x, cols, rows + 1, cols, vals, meta, tail));
    assertThrows(iae, () -> k.prune24Compress(x, cols, rows, cols, vals, meta, null));
    assertThrows(iae, () -> k.prune24Compress(x, cols, rows, cols, slice(vals, 1), meta, tail));
    assertThrows(iae, () -> k.prune24Compress(x, cols, rows, cols, vals, (ByteBuffer) meta.duplicate().position(1), tail));
    assertThrows(iae, () -> k.prune24Compress(x, cols, rows, cols, vals.asReadOnlyBuffer(), meta, tail));
    // decompress
    assertThrows(iae, () -> k.decompress24(vals, meta, tail, rows, cols, x, cols - 1));
    assertThrows(iae, () -> k.decompress24(vals, meta, tail, rows, cols + 4, x, cols + 4));
    assertThrows(iae, () -> k.decompress24(vals, meta, tail, rows, cols, slice(x, 1), cols));
    // nn
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, w, n, n + 1, 0f, y, n + 1));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, w, n - 1, n, 0f, y, n));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, w, n, n, 0f, y, n - 1));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, slice(w, 1), n, n, 0f, y, n));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, w, n, -3, 0f, y, n));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, null, rows, cols, w, n, n, 0f, y, n));
    assertThrows(iae, () -> k.spmm24nn(vals, meta, tail, rows, cols, w, n, n, 0f, y.asReadOnlyBuffer(), n));
    // tn
    assertThrows(iae, () -> k.spmm24tn(vals, meta, tail, rows, cols, g, n, n, 0f, slice(dw, 1), n));
    assertThrows(iae, () -> k.spmm24tn(vals, meta, tail, rows + 1, cols, g, n, n, 0f, dw, n));
    assertThrows(iae, () -> k.spmm24tn(vals, meta, tail, rows, cols, g, n - 1, n, 0f, dw, n));
    assertThrows(iae, () -> k.spmm24tn(vals, meta, tail, rows, cols, g, n, n, 0f, dw, 0));
  }

  static FloatBuffer slice(FloatBuffer b, int drop) {
    return b.duplicate().position(drop).slice();
  }
}
