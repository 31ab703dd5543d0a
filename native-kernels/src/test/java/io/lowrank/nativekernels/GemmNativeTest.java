package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The native product through JNI on off-heap memory, every transposition, against a plain double
 * loop on fresh random inputs: ||C - Cref|| / ||Cref|| <= 1e-5, padding past each row's n columns
 * untouched, beta = 0 not reading C (NaN there). The blocking edges are the C++ test's
 * (sgemm_test.cpp); here the JNI argument order and the Java checks.
 */
class GemmNativeTest {
  @ParameterizedTest
  @CsvSource({"false,false,37,70,300", "false,true,128,96,33", "true,false,65,17,513", "true,true,9,130,64"})
  void matchesDoubleReference(boolean ta, boolean tb, int m, int n, int k) throws Exception {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    sun.misc.Unsafe u = TestData.unsafe();
    SplittableRandom r = new SplittableRandom(m * 31L + n * 7L + k);
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    int arows = ta ? k : m, brows = tb ? n : k;
    float[] a = new float[arows * lda], b = new float[brows * ldb], c0 = new float[m * ldc];
    for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
    for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
    for (float beta : new float[] {0f, 0.5f}) {
      for (int i = 0; i < c0.length; i++) c0[i] = i % ldc >= n ? -777f : beta == 0f ? Float.NaN : (float) r.nextGaussian();
      long pa = u.allocateMemory(4L * a.length), pb = u.allocateMemory(4L * b.length), pc = u.allocateMemory(4L * c0.length);
      try {
        for (int i = 0; i < a.length; i++) u.putFloat(pa + 4L * i, a[i]);
        for (int i = 0; i < b.length; i++) u.putFloat(pb + 4L * i, b[i]);
        for (int i = 0; i < c0.length; i++) u.putFloat(pc + 4L * i, c0[i]);
        Gemm.sgemm(ta, tb, m, n, k, 0.75f, pa, lda, pb, ldb, beta, pc, ldc, 0);
        double num = 0, den = 0;
        for (int i = 0; i < m; i++) {
          for (int j = 0; j < ldc; j++) {
            float got = u.getFloat(pc + 4L * (i * ldc + j));
            if (j >= n) {
              assertEquals(-777f, got, "padding column " + j + " of row " + i + " was written");
              continue;
            }
            double ref = 0;
            for (int p = 0; p < k; p++) ref += (double) (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            ref = 0.75 * ref + (beta == 0f ? 0 : beta * (double) c0[i * ldc + j]);
            num += (got - ref) * (got - ref);
            den += ref * ref;
          }
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel <= 1e-5, "rel. error " + rel + " (ta=" + ta + " tb=" + tb + " beta=" + beta + ")");
      } finally {
        u.freeMemory(pa);
        u.freeMemory(pb);
        u.freeMemory(pc);
      }
    }
  }

  @Test
  void badArgumentsAreRejectedBeforeTheNativeCall() {
    Class<IllegalArgumentException> iae = IllegalArgumentException.class;
    long p = 64L * 1024;   // never dereferenced: every call below fails its checks first
    assertThrows(iae, () -> Gemm.sgemm(false, false, -1, 2, 2, 1f, p, 2, p, 2, 0f, p, 2, 0), "negative m");
    assertThrows(iae, () -> Gemm.sgemm(false, false, 2, 2, 3, 1f, p, 2, p, 2, 0f, p, 2, 0), "lda < k");
    assertThrows(iae, () -> Gemm.sgemm(true, false, 4, 2, 3, 1f, p, 3, p, 2, 0f, p, 2, 0), "lda < m for A^T");
    assertThrows(iae, () -> Gemm.sgemm(false, true, 2, 5, 3, 1f, p, 3, p, 2, 0f, p, 5, 0), "ldb < k for B^T");
    assertThrows(iae, () -> Gemm.sgemm(false, false, 2, 5, 3, 1f, p, 3, p, 5, 0f, p, 4, 0), "ldc < n");
    assertThrows(iae, () -> Gemm.sgemm(false, false, 2, 2, 2, 1f, 0L, 2, p, 2, 0f, p, 2, 0), "null A");
    assertThrows(iae, () -> Gemm.sgemm(false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, 0L, 2, 0), "null C");
  }
}
