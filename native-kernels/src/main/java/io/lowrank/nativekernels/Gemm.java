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
    if (m < 0 || n < 0 || k < 0) {
      throw new IllegalArgumentException("sgemm: negative dimension m=" + m + " n=" + n + " k=" + k);
    }
    checkLd("lda", lda, transA ? m : k);
    checkLd("ldb", ldb, transB ? k : n);
    checkLd("ldc", ldc, n);
    if (m == 0 || n == 0) {
      return;
    }
    if (c == 0 || (k > 0 && (a == 0 || b == 0))) {
      throw new IllegalArgumentException("sgemm: null address (a=" + a + ", b=" + b + ", c=" + c + ")");
    }
    if (!NativeLibrary.isAvailable()) {
      throw new IllegalStateException("lowrank native kernels unavailable: " + NativeLibrary.unavailableReason());
    }
    if (nSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads) != 0) {
      throw new OutOfMemoryError("lowrank native sgemm: could not allocate this thread's packing buffers");
    }
  }

  private static void checkLd(String name, int ld, int cols) {
    if (ld < Math.max(1, cols)) {
      throw new IllegalArgumentException("sgemm: " + name + " = " + ld + " < " + Math.max(1, cols) + " (the row width)");
    }
  }

  private static native int nSgemm(boolean transA, boolean transB, long m, long n, long k, float alpha,
      long a, long lda, long b, long ldb, float beta, long c, long ldc, int maxThreads);
}
