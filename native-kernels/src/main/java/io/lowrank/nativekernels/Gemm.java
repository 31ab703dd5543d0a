package io.lowrank.nativekernels;

/**
 * The native dense float32 product {@code C = alpha op(A) op(B) + beta C} (cpp/kernels/sgemm.cpp),
 * on raw addresses, row-major with leading dimensions: the contract of {@code
 * cblas_sgemm(CblasRowMajor, ...)}. On CPUs with AVX-512 it runs the products of a training step
 * 1.5-2x faster than the OpenBLAS that ND4J bundles (0.3.19, which drives such CPUs with its
 * AVX2 Haswell kernels): {@link #preferredOverOpenBlas()}. On AVX2 CPUs it is about even with
 * OpenBLAS, and callers keep OpenBLAS there.
 *
 * <p>Operand extents cannot be checked from raw addresses: the caller checks them (the worker's
 * backend does, against its tensors). Dimensions, leading dimensions and null addresses are
 * checked here.
 */
public final class Gemm {
  private Gemm() {}

  /** ISA level of the AVX-512 kernels ({@link Sparse24#isa()}). */
  public static final int ISA_AVX512 = 2;

  /** Whether the library is loaded and its product runs on AVX-512 (where it beats OpenBLAS). */
  public static boolean preferredOverOpenBlas() {
    return NativeLibrary.isAvailable() && Sparse24.isa() >= ISA_AVX512;
  }

  /**
   * C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C; op(A) = A [m, k] (lda >= k) or, with
   * transA, A^T of A [k, m] (lda >= m); likewise B; ldc >= n. beta = 0 does not read C.
   * maxThreads: threads it may use (at most the native kernels' thread count; <= 0 means that
   * count); 1 runs on the calling thread only, so several threads may call it at once.
   *
   * @throws OutOfMemoryError when a thread's packing buffers (~1-2 MiB, allocated once per
   *     thread) cannot be allocated
   */
  public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      long a, int lda, long b, int ldb, float beta, long c, int ldc, int maxThreads) {
    sgemmEp(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, EPI_NONE, 0L, ldc, maxThreads);
  }

  /** No epilogue. */
  public static final int EPI_NONE = 0;
  /** Epilogue: also writes aux = SiLU(C) (CoLA's h = x A and z = SiLU(h) in one pass). */
  public static final int EPI_SILU = 1;
  /** Epilogue: C = (product) * SiLU'(aux), aux read (CoLA's dh = (dy B^T) * SiLU'(h)). */
  public static final int EPI_SILU_GRAD = 2;

  /**
   * {@link #sgemm} with an epilogue on the finished C (after alpha and beta), whose results have
   * the bits of the separate {@link Fused} SiLU kernels on the stored C: {@link #EPI_SILU} also
   * writes aux = SiLU(C); {@link #EPI_SILU_GRAD} writes C * SiLU'(aux) instead of C. aux is [m, n]
   * with ldaux &gt;= n and must not overlap C; {@link #EPI_NONE} ignores aux and ldaux.
   */
  public static void sgemmEp(boolean transA, boolean transB, int m, int n, int k, float alpha,
      long a, int lda, long b, int ldb, float beta, long c, int ldc, int epilogue, long aux, int ldaux, int maxThreads) {
    checkEpilogue(epilogue);
    if (m < 0 || n < 0 || k < 0) {
      throw new IllegalArgumentException("sgemm: negative dimension m=" + m + " n=" + n + " k=" + k);
    }
    checkLd("lda", lda, transA ? m : k);
    checkLd("ldb", ldb, transB ? k : n);
    checkLd("ldc", ldc, n);
    boolean ep = epilogue != EPI_NONE;
    if (ep) {
      checkLd("ldaux", ldaux, n);
    }
    if (m == 0 || n == 0) {
      return;
    }
    if (c == 0 || (k > 0 && (a == 0 || b == 0)) || (ep && aux == 0)) {
      throw new IllegalArgumentException("sgemm: null address (a=" + a + ", b=" + b + ", c=" + c + (ep ? ", aux=" + aux : "") + ")");
    }
    if (ep && aux == c) {
      throw new IllegalArgumentException("sgemm: the epilogue's matrix is C");
    }
    requireLibrary();
    result(ep ? nSgemmEp(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, aux, ldaux, maxThreads)
        : nSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads));
  }

  private static void checkEpilogue(int epilogue) {
    if (epilogue != EPI_NONE && epilogue != EPI_SILU && epilogue != EPI_SILU_GRAD) {
      throw new IllegalArgumentException("sgemm: unknown epilogue " + epilogue);
    }
  }

  /** Most parts of one grouped product ({@link #sgemmSharedA}, {@link #sgemmSumK}). */
  public static final int MAX_PARTS = 8;

  /**
   * Projections that share an input, in one call: C_g[m, n_g] = alpha op(A)[m, k] op(B_g)[k, n_g]
   * + beta C_g for g &lt; parts, where part g is {@code n[g], b[g], ldb[g], c[g], ldc[g]}. op(A)
   * is read once per block for all parts instead of once per part. Arrays may be longer than
   * parts; the rest as {@link #sgemm}.
   */
  public static void sgemmSharedA(boolean transA, boolean transB, int m, int k, float alpha, long a, int lda,
      int parts, long[] n, long[] b, long[] ldb, float beta, long[] c, long[] ldc, int maxThreads) {
    sgemmSharedA(transA, transB, m, k, alpha, a, lda, parts, n, b, ldb, beta, c, ldc, EPI_NONE, null, null, maxThreads);
  }

  /**
   * {@link #sgemmSharedA} with an epilogue on every part (see {@link #sgemmEp}): {@code aux[g],
   * ldaux[g]} is part g's second matrix [m, n_g] (both arrays may be null for {@link #EPI_NONE}).
   */
  public static void sgemmSharedA(boolean transA, boolean transB, int m, int k, float alpha, long a, int lda,
      int parts, long[] n, long[] b, long[] ldb, float beta, long[] c, long[] ldc, int epilogue, long[] aux,
      long[] ldaux, int maxThreads) {
    checkParts(parts, n, b, ldb, c, ldc);
    checkEpilogue(epilogue);
    if (epilogue != EPI_NONE) {
      checkParts(parts, aux, ldaux);
      for (int g = 0; g < parts; g++) {
        checkPart(g, "n", n[g], "ldaux", ldaux[g], n[g], aux[g], m > 0);
        if (aux[g] == c[g] && n[g] > 0 && m > 0) {
          throw new IllegalArgumentException("sgemm shared A: the epilogue's matrix of part " + g + " is its C");
        }
      }
    }
    if (m < 0 || k < 0) {
      throw new IllegalArgumentException("sgemm shared A: negative dimension m=" + m + " k=" + k);
    }
    checkLd("lda", lda, transA ? m : k);
    long total = 0;
    for (int g = 0; g < parts; g++) {
      checkPart(g, "n", n[g], "ldb", ldb[g], transB ? k : n[g], b[g], k > 0);
      checkPart(g, "n", n[g], "ldc", ldc[g], n[g], 1, false);
      if (c[g] == 0 && m > 0 && n[g] > 0) {
        throw new IllegalArgumentException("sgemm shared A: null C of part " + g);
      }
      total += n[g];
    }
    if (m == 0 || total == 0) {
      return;
    }
    if (k > 0 && a == 0) {
      throw new IllegalArgumentException("sgemm shared A: null A");
    }
    requireLibrary();
    // without an epilogue the native side never reads aux / ldaux: any array of parts entries will do
    result(nSgemmSharedA(transA, transB, m, k, alpha, a, lda, parts, n, b, ldb, beta, c, ldc, epilogue,
        epilogue == EPI_NONE ? ldc : aux, epilogue == EPI_NONE ? ldc : ldaux, maxThreads));
  }

  /**
   * The gradient into an input that several projections share, in one call: C[m, n] = alpha
   * sum_g op(A_g)[m, k_g] op(B_g)[k_g, n] + beta C, where part g is {@code k[g], a[g], lda[g],
   * b[g], ldb[g]}. C is read and written once per k slice of the summed k instead of once per
   * part. Arrays may be longer than parts; the rest as {@link #sgemm}.
   */
  public static void sgemmSumK(boolean transA, boolean transB, int m, int n, int parts, long[] k, float alpha,
      long[] a, long[] lda, long[] b, long[] ldb, float beta, long c, int ldc, int maxThreads) {
    checkParts(parts, k, a, lda, b, ldb);
    if (m < 0 || n < 0) {
      throw new IllegalArgumentException("sgemm sum k: negative dimension m=" + m + " n=" + n);
    }
    checkLd("ldc", ldc, n);
    for (int g = 0; g < parts; g++) {
      checkPart(g, "k", k[g], "lda", lda[g], transA ? m : k[g], a[g], m > 0 && n > 0);
      checkPart(g, "k", k[g], "ldb", ldb[g], transB ? k[g] : n, b[g], m > 0 && n > 0);
    }
    if (m == 0 || n == 0) {
      return;
    }
    if (c == 0) {
      throw new IllegalArgumentException("sgemm sum k: null C");
    }
    requireLibrary();
    result(nSgemmSumK(transA, transB, m, n, parts, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads));
  }

  private static void checkParts(int parts, long[]... arrays) {
    if (parts < 1 || parts > MAX_PARTS) {
      throw new IllegalArgumentException("sgemm: " + parts + " parts, not 1.." + MAX_PARTS);
    }
    for (long[] x : arrays) {
      if (x.length < parts) {
        throw new IllegalArgumentException("sgemm: an array of " + x.length + " entries for " + parts + " parts");
      }
    }
  }

  private static void checkPart(int g, String extentName, long extent, String ldName, long ld, long cols, long address,
      boolean used) {
    if (extent < 0 || extent > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("sgemm: part " + g + " has " + extentName + " = " + extent);
    }
    if (ld < Math.max(1, cols)) {
      throw new IllegalArgumentException("sgemm: part " + g + " " + ldName + " = " + ld + " < " + Math.max(1, cols) + " (the row width)");
    }
    if (used && extent > 0 && address == 0) {
      throw new IllegalArgumentException("sgemm: null operand in part " + g);
    }
  }

  private static void requireLibrary() {
    if (!NativeLibrary.isAvailable()) {
      throw new IllegalStateException("lowrank native kernels unavailable: " + NativeLibrary.unavailableReason());
    }
  }

  private static void result(int rc) {
    if (rc == -1) {
      throw new OutOfMemoryError("lowrank native sgemm: could not allocate this thread's packing buffers");
    }
    if (rc != 0) {
      throw new IllegalStateException("lowrank native sgemm: arguments refused (code " + rc + ")");
    }
  }

  private static void checkLd(String name, int ld, int cols) {
    if (ld < Math.max(1, cols)) {
      throw new IllegalArgumentException("sgemm: " + name + " = " + ld + " < " + Math.max(1, cols) + " (the row width)");
    }
  }

  private static native int nSgemmSharedA(boolean transA, boolean transB, long m, long k, float alpha, long a,
      long lda, int parts, long[] n, long[] b, long[] ldb, float beta, long[] c, long[] ldc, int epilogue,
      long[] aux, long[] ldaux, int maxThreads);

  private static native int nSgemmEp(boolean transA, boolean transB, long m, long n, long k, float alpha,
      long a, long lda, long b, long ldb, float beta, long c, long ldc, int epilogue, long aux, long ldaux,
      int maxThreads);

  private static native int nSgemmSumK(boolean transA, boolean transB, long m, long n, int parts, long[] k,
      float alpha, long[] a, long[] lda, long[] b, long[] ldb, float beta, long c, long ldc, int maxThreads);

  private static native int nSgemm(boolean transA, boolean transB, long m, long n, long k, float alpha,
      long a, long lda, long b, long ldb, float beta, long c, long ldc, int maxThreads);
}
