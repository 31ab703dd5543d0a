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

  /**
   * The grouped products through JNI (argument order, the part arrays) against the same parts as
   * separate products: parts of 96, 40 and 7 columns (shared A) or depths (sum over k), every
   * transposition, beta 0 and 0.5.
   */
  @ParameterizedTest
  @CsvSource({"false,false", "false,true", "true,false", "true,true"})
  void groupedProductsMatchTheirParts(boolean ta, boolean tb) throws Exception {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    sun.misc.Unsafe u = TestData.unsafe();
    SplittableRandom r = new SplittableRandom(ta ? (tb ? 1 : 2) : (tb ? 3 : 4));
    int m = 45, other = 70, parts = 3;
    long[] ext = {96, 40, 7};
    java.util.List<Long> blocks = new java.util.ArrayList<>();
    try {
      for (boolean sumK : new boolean[] {false, true}) {
        for (float beta : new float[] {0f, 0.5f}) {
          long[] a = new long[parts], lda = new long[parts], b = new long[parts], ldb = new long[parts];
          long[] c = new long[parts], ldc = new long[parts], cRef = new long[parts];
          for (int g = 0; g < parts; g++) {
            int n = sumK ? other : (int) ext[g], k = sumK ? (int) ext[g] : other;
            lda[g] = (ta ? m : k) + 1;
            ldb[g] = (tb ? k : n) + 2;
            ldc[g] = n + 3;
            a[g] = sumK || g == 0 ? random(u, r, (ta ? k : m) * lda[g], blocks) : a[0];
            b[g] = random(u, r, (tb ? n : k) * ldb[g], blocks);
            if (sumK && g > 0) {
              c[g] = c[0];
              cRef[g] = cRef[0];
              ldc[g] = ldc[0];
            } else {
              c[g] = random(u, r, m * ldc[g], blocks);
              cRef[g] = copy(u, c[g], m * ldc[g], blocks);
            }
          }
          for (int g = 0; g < parts; g++) {   // reference: part by part (a sum: the first with beta)
            int n = sumK ? other : (int) ext[g], k = sumK ? (int) ext[g] : other;
            Gemm.sgemm(ta, tb, m, n, k, 0.75f, a[g], (int) lda[g], b[g], (int) ldb[g], sumK && g > 0 ? 1f : beta,
                cRef[g], (int) ldc[g], 0);
          }
          if (sumK) {
            Gemm.sgemmSumK(ta, tb, m, other, parts, ext, 0.75f, a, lda, b, ldb, beta, c[0], (int) ldc[0], 0);
          } else {
            Gemm.sgemmSharedA(ta, tb, m, other, 0.75f, a[0], (int) lda[0], parts, ext, b, ldb, beta, c, ldc, 0);
          }
          for (int g = 0; g < (sumK ? 1 : parts); g++) {
            int n = sumK ? other : (int) ext[g];
            double num = 0, den = 0;
            for (long i = 0; i < m * ldc[g]; i++) {
              double got = u.getFloat(c[g] + 4 * i), ref = u.getFloat(cRef[g] + 4 * i);
              if (i % ldc[g] >= n) {
                assertEquals(ref, got, "padding element " + i + " of part " + g + " was written");
              }
              num += (got - ref) * (got - ref);
              den += ref * ref;
            }
            double rel = Math.sqrt(num / den);
            assertTrue(rel <= 1e-5, "part " + g + " rel. error " + rel + " (sumK=" + sumK + " ta=" + ta + " tb=" + tb + " beta=" + beta + ")");
          }
        }
      }
    } finally {
      for (long p : blocks) u.freeMemory(p);
    }
  }

  private static long random(sun.misc.Unsafe u, SplittableRandom r, long floats, java.util.List<Long> blocks) {
    long p = u.allocateMemory(4 * floats);
    blocks.add(p);
    for (long i = 0; i < floats; i++) u.putFloat(p + 4 * i, (float) r.nextGaussian());
    return p;
  }

  private static long copy(sun.misc.Unsafe u, long from, long floats, java.util.List<Long> blocks) {
    long p = u.allocateMemory(4 * floats);
    blocks.add(p);
    u.copyMemory(from, p, 4 * floats);
    return p;
  }

  /**
   * The SiLU epilogues through JNI, single and grouped, give the bits of the product followed by
   * the separate {@link Fused} SiLU kernels (the order of the JNI arguments, aux included).
   */
  @ParameterizedTest
  @CsvSource({"1,false", "2,false", "1,true", "2,true"})
  void epiloguesGiveTheBitsOfTheSeparateKernels(int epilogue, boolean grouped) throws Exception {
    assumeTrue(NativeLibrary.isAvailable(), NativeLibrary.unavailableReason());
    sun.misc.Unsafe u = TestData.unsafe();
    SplittableRandom r = new SplittableRandom(epilogue * 10 + (grouped ? 1 : 0));
    int m = 37, n = 70, k = 300;
    java.util.List<Long> blocks = new java.util.ArrayList<>();
    try {
      long a = random(u, r, (long) m * k, blocks), b = random(u, r, (long) k * n, blocks);
      long c = random(u, r, (long) m * n, blocks), aux = random(u, r, (long) m * n, blocks);
      long wantC = copy(u, c, (long) m * n, blocks), wantAux = copy(u, aux, (long) m * n, blocks);
      Gemm.sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, wantC, n, 0);
      for (int i = 0; i < m; i++) {
        long ci = 4L * i * n;
        if (epilogue == Gemm.EPI_SILU) {
          Fused.silu(wantC + ci, 0, wantAux + ci, 0, n);
        } else {
          Fused.siluBackward(wantAux + ci, 0, wantC + ci, 0, wantC + ci, 0, n);
        }
      }
      if (grouped) {   // columns [0, 20) and [20, 70) as two parts, each with its own C and aux offsets
        long[] ext = {20, 50}, bs = {b, b + 4 * 20}, lds = {n, n}, cs = {c, c + 4 * 20}, xs = {aux, aux + 4 * 20};
        Gemm.sgemmSharedA(false, false, m, k, 1f, a, k, 2, ext, bs, lds, 0f, cs, lds, epilogue, xs, lds, 0);
      } else {
        Gemm.sgemmEp(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, epilogue, aux, n, 0);
      }
      for (long i = 0; i < (long) m * n; i++) {
        assertEquals(u.getInt(wantC + 4 * i), u.getInt(c + 4 * i), "C element " + i);
        assertEquals(u.getInt(wantAux + 4 * i), u.getInt(aux + 4 * i), "aux element " + i);
      }
    } finally {
      for (long p : blocks) u.freeMemory(p);
    }
    long p = 64L * 1024;
    assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmEp(false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, p, 2, 3, p + 64, 2, 0),
        "unknown epilogue");
    assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmEp(false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, p, 2, epilogue, p, 2, 0),
        "aux is C");
    assertThrows(IllegalArgumentException.class, () -> Gemm.sgemmEp(false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, p, 2, epilogue, p + 64, 1, 0),
        "ldaux < n");
  }

  @Test
  void badGroupedArgumentsAreRejectedBeforeTheNativeCall() {
    Class<IllegalArgumentException> iae = IllegalArgumentException.class;
    long p = 64L * 1024;   // never dereferenced
    long[] two = {2, 2}, ptr = {p, p}, zero = {p, 0};
    assertThrows(iae, () -> Gemm.sgemmSharedA(false, false, 2, 2, 1f, p, 2, 0, two, ptr, two, 0f, ptr, two, 0), "0 parts");
    assertThrows(iae, () -> Gemm.sgemmSharedA(false, false, 2, 2, 1f, p, 2, 3, two, ptr, two, 0f, ptr, two, 0), "arrays shorter than parts");
    assertThrows(iae, () -> Gemm.sgemmSharedA(false, false, 2, 2, 1f, p, 2, 2, two, ptr, new long[] {2, 1}, 0f, ptr, two, 0), "ldb < n of part 1");
    assertThrows(iae, () -> Gemm.sgemmSharedA(false, false, 2, 2, 1f, p, 2, 2, two, ptr, two, 0f, zero, two, 0), "null C of part 1");
    assertThrows(iae, () -> Gemm.sgemmSumK(false, false, 2, 2, 2, new long[] {2, -1}, 1f, ptr, two, ptr, two, 0f, p, 2, 0), "negative k");
    assertThrows(iae, () -> Gemm.sgemmSumK(false, false, 2, 2, 2, two, 1f, zero, two, ptr, two, 0f, p, 2, 0), "null A of part 1");
    assertThrows(iae, () -> Gemm.sgemmSumK(false, false, 2, 2, 9, new long[9], 1f, new long[9], new long[9], new long[9], new long[9], 0f, p, 2, 0), "9 parts");
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
