package io.lowrank.nativekernels;

import static io.lowrank.nativekernels.Sparse24Layout.checkCompressed;
import static io.lowrank.nativekernels.Sparse24Layout.checkDims;
import static io.lowrank.nativekernels.Sparse24Layout.checkLd;
import static io.lowrank.nativekernels.Sparse24Layout.checkRemaining;
import static io.lowrank.nativekernels.Sparse24Layout.checkWritable;
import static io.lowrank.nativekernels.Sparse24Layout.denseExtent;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Native (C++ AVX2/AVX-512, OpenMP) ELAS 2:4 kernels through JNI, without copies.
 * Layout and semantics: {@link Sparse24Layout}; the Java oracle/fallback is {@link Sparse24Java}.
 *
 * <p>Two ways in:
 *
 * <ul>
 *   <li>Address methods ({@code long} address + {@code long} element offset per operand), for
 *       off-heap memory owned elsewhere (ND4J buffers, MemorySegment, Unsafe). Shapes and leading
 *       dimensions are checked (IllegalArgumentException), the extent of the memory cannot be:
 *       the caller guarantees it.
 *   <li>Buffer methods on direct {@link FloatBuffer}/{@link ByteBuffer}s (native byte order for
 *       floats): operands start at {@code position()}, every extent is checked against {@code
 *       remaining()} before the native call, so a bad shape is an IllegalArgumentException, never
 *       a crash.
 * </ul>
 *
 * All methods throw {@link IllegalStateException} when {@link NativeLibrary#isAvailable()} is
 * false; use {@link Sparse24Kernels#best()} to fall back automatically.
 */
public final class Sparse24 {
  private Sparse24() {}

  /** Instruction-set levels reported by {@link #isa()} / {@link #cpuIsa()}. */
  public static final int ISA_SCALAR = 0;
  public static final int ISA_AVX2 = 1;
  public static final int ISA_AVX512 = 2;

  private static final Sparse24Kernels KERNELS = new Kernels();

  /** True when the native library loaded and this CPU has AVX2+FMA. */
  public static boolean isAvailable() {
    return NativeLibrary.isAvailable();
  }

  /** The native kernels behind the {@link Sparse24Kernels} interface (buffer methods). */
  public static Sparse24Kernels kernels() {
    return KERNELS;
  }

  private static void require() {
    if (!NativeLibrary.isAvailable()) {
      throw new IllegalStateException(
          "lowrank native kernels unavailable: " + NativeLibrary.unavailableReason());
    }
  }

  // ---- runtime settings ------------------------------------------------------------------

  /** OpenMP threads used by every kernel (process-wide). n < 1 is treated as 1. */
  public static void setNumThreads(int n) {
    require();
    nSetNumThreads(n);
  }

  public static int getNumThreads() {
    require();
    return nGetNumThreads();
  }

  /** Best ISA of this CPU (0 scalar, 1 AVX2+FMA, 2 AVX-512). */
  public static int cpuIsa() {
    require();
    return nCpuIsa();
  }

  /** ISA in use. */
  public static int isa() {
    require();
    return nGetIsa();
  }

  /** Force a lower ISA (tests, benchmarks); clamped to {@link #cpuIsa()}. Returns the ISA now used. */
  public static int setIsa(int isa) {
    require();
    return nSetIsa(isa);
  }

  public static String version() {
    require();
    return nVersion();
  }

  // ---- address methods -------------------------------------------------------------------

  /**
   * Dense X[rows, cols] at {@code x + 4*xOff} (leading dim ldx) to vals/meta/tail at their
   * addresses + element offsets. {@code tail} may be 0 when cols % 4 == 0.
   */
  public static void prune24Compress(
      long x, long xOff, long ldx, int rows, int cols, long vals, long valsOff, long meta,
      long metaOff, long tail, long tailOff) {
    checkDims(rows, cols, 0);
    checkLd("ldx", ldx, cols);
    checkCompressedAddr(vals, valsOff, meta, metaOff, tail, tailOff, rows, cols);
    checkAddr("x", x, xOff, denseExtent(rows, cols, ldx));
    require();
    nPrune24CompressAddr(
        x + 4 * xOff, ldx, rows, cols, vals + 4 * valsOff, meta + metaOff, tailPtr(tail, tailOff));
  }

  /** vals/meta/tail to dense Y[rows, cols] at {@code y + 4*yOff} (leading dim ldy). */
  public static void decompress24(
      long vals, long valsOff, long meta, long metaOff, long tail, long tailOff, int rows,
      int cols, long y, long yOff, long ldy) {
    checkDims(rows, cols, 0);
    checkLd("ldy", ldy, cols);
    checkCompressedAddr(vals, valsOff, meta, metaOff, tail, tailOff, rows, cols);
    checkAddr("y", y, yOff, denseExtent(rows, cols, ldy));
    require();
    nDecompress24Addr(
        vals + 4 * valsOff, meta + metaOff, tailPtr(tail, tailOff), rows, cols, y + 4 * yOff, ldy);
  }

  /** Y[rows, n] = beta*Y + S[rows, cols] . W[cols, n] (the ELAS down-projection forward). */
  public static void spmm24nn(
      long vals, long valsOff, long meta, long metaOff, long tail, long tailOff, int rows,
      int cols, long w, long wOff, long ldw, int n, float beta, long y, long yOff, long ldy) {
    checkDims(rows, cols, n);
    checkLd("ldw", ldw, n);
    checkLd("ldy", ldy, n);
    checkCompressedAddr(vals, valsOff, meta, metaOff, tail, tailOff, rows, cols);
    checkAddr("w", w, wOff, denseExtent(cols, n, ldw));
    checkAddr("y", y, yOff, denseExtent(rows, n, ldy));
    require();
    nSpmm24nnAddr(
        vals + 4 * valsOff, meta + metaOff, tailPtr(tail, tailOff), rows, cols, w + 4 * wOff, ldw,
        n, beta, y + 4 * yOff, ldy);
  }

  /** dW[cols, n] = beta*dW + S^T[cols, rows] . G[rows, n] (the ELAS weight gradient). */
  public static void spmm24tn(
      long vals, long valsOff, long meta, long metaOff, long tail, long tailOff, int rows,
      int cols, long g, long gOff, long ldg, int n, float beta, long dw, long dwOff, long lddw) {
    checkDims(rows, cols, n);
    checkLd("ldg", ldg, n);
    checkLd("lddw", lddw, n);
    checkCompressedAddr(vals, valsOff, meta, metaOff, tail, tailOff, rows, cols);
    checkAddr("g", g, gOff, denseExtent(rows, n, ldg));
    checkAddr("dw", dw, dwOff, denseExtent(cols, n, lddw));
    require();
    nSpmm24tnAddr(
        vals + 4 * valsOff, meta + metaOff, tailPtr(tail, tailOff), rows, cols, g + 4 * gOff, ldg,
        n, beta, dw + 4 * dwOff, lddw);
  }

  private static long tailPtr(long tail, long off) {
    return tail == 0 ? 0 : tail + 4 * off;
  }

  private static void checkAddr(String name, long addr, long off, long extent) {
    if (off < 0) {
      throw new IllegalArgumentException(name + " offset is negative: " + off);
    }
    if (addr == 0 && extent > 0) {
      throw new IllegalArgumentException(name + " address is 0 but " + extent + " elements are needed");
    }
  }

  private static void checkCompressedAddr(
      long vals, long valsOff, long meta, long metaOff, long tail, long tailOff, int rows,
      int cols) {
    checkAddr("vals", vals, valsOff, Sparse24Layout.valuesLength(rows, cols));
    checkAddr("meta", meta, metaOff, Sparse24Layout.metaLength(rows, cols));
    checkAddr("tail", tail, tailOff, Sparse24Layout.tailLength(rows, cols));
  }

  // ---- buffer methods (checked) ----------------------------------------------------------

  /** Checked buffer version of {@link #prune24Compress(long, long, long, int, int, long, long, long, long, long, long)}. */
  public static void prune24Compress(
      FloatBuffer x, int ldx, int rows, int cols, FloatBuffer vals, ByteBuffer meta,
      FloatBuffer tail) {
    checkDims(rows, cols, 0);
    checkLd("ldx", ldx, cols);
    checkRemaining("x", x, denseExtent(rows, cols, ldx));
    checkCompressed(vals, meta, tail, rows, cols);
    checkDirect("x", x);
    checkDirectCompressed(vals, meta, tail);
    checkWritable("vals", vals);
    checkWritable("meta", meta);
    checkWritable("tail", tail);
    require();
    nPrune24CompressBuf(
        x, 4L * x.position(), ldx, rows, cols, vals, 4L * vals.position(), meta, meta.position(),
        tail, tail == null ? 0 : 4L * tail.position());
  }

  /** Checked buffer version of decompress24. */
  public static void decompress24(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer y,
      int ldy) {
    checkDims(rows, cols, 0);
    checkLd("ldy", ldy, cols);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("y", y, denseExtent(rows, cols, ldy));
    checkDirectCompressed(vals, meta, tail);
    checkDirect("y", y);
    checkWritable("y", y);
    require();
    nDecompress24Buf(
        vals, 4L * vals.position(), meta, meta.position(), tail,
        tail == null ? 0 : 4L * tail.position(), rows, cols, y, 4L * y.position(), ldy);
  }

  /** Checked buffer version of spmm24nn. */
  public static void spmm24nn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer w,
      int ldw, int n, float beta, FloatBuffer y, int ldy) {
    checkDims(rows, cols, n);
    checkLd("ldw", ldw, n);
    checkLd("ldy", ldy, n);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("w", w, denseExtent(cols, n, ldw));
    checkRemaining("y", y, denseExtent(rows, n, ldy));
    checkDirectCompressed(vals, meta, tail);
    checkDirect("w", w);
    checkDirect("y", y);
    checkWritable("y", y);
    require();
    nSpmm24nnBuf(
        vals, 4L * vals.position(), meta, meta.position(), tail,
        tail == null ? 0 : 4L * tail.position(), rows, cols, w, 4L * w.position(), ldw, n, beta,
        y, 4L * y.position(), ldy);
  }

  /** Checked buffer version of spmm24tn. */
  public static void spmm24tn(
      FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer g,
      int ldg, int n, float beta, FloatBuffer dw, int lddw) {
    checkDims(rows, cols, n);
    checkLd("ldg", ldg, n);
    checkLd("lddw", lddw, n);
    checkCompressed(vals, meta, tail, rows, cols);
    checkRemaining("g", g, denseExtent(rows, n, ldg));
    checkRemaining("dw", dw, denseExtent(cols, n, lddw));
    checkDirectCompressed(vals, meta, tail);
    checkDirect("g", g);
    checkDirect("dw", dw);
    checkWritable("dw", dw);
    require();
    nSpmm24tnBuf(
        vals, 4L * vals.position(), meta, meta.position(), tail,
        tail == null ? 0 : 4L * tail.position(), rows, cols, g, 4L * g.position(), ldg, n, beta,
        dw, 4L * dw.position(), lddw);
  }

  private static void checkDirect(String name, Buffer b) {
    if (b == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (!b.isDirect()) {
      throw new IllegalArgumentException(name + " must be a direct buffer (use Sparse24Java for heap buffers)");
    }
    if (b instanceof FloatBuffer && ((FloatBuffer) b).order() != ByteOrder.nativeOrder()) {
      throw new IllegalArgumentException(name + " must be in native byte order");
    }
  }

  private static void checkDirectCompressed(FloatBuffer vals, ByteBuffer meta, FloatBuffer tail) {
    checkDirect("vals", vals);
    checkDirect("meta", meta);
    if (tail != null) {
      checkDirect("tail", tail);
    }
  }

  private static final class Kernels implements Sparse24Kernels {
    @Override
    public void prune24Compress(
        FloatBuffer x, int ldx, int rows, int cols, FloatBuffer vals, ByteBuffer meta,
        FloatBuffer tail) {
      Sparse24.prune24Compress(x, ldx, rows, cols, vals, meta, tail);
    }

    @Override
    public void decompress24(
        FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer y,
        int ldy) {
      Sparse24.decompress24(vals, meta, tail, rows, cols, y, ldy);
    }

    @Override
    public void spmm24nn(
        FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer w,
        int ldw, int n, float beta, FloatBuffer y, int ldy) {
      Sparse24.spmm24nn(vals, meta, tail, rows, cols, w, ldw, n, beta, y, ldy);
    }

    @Override
    public void spmm24tn(
        FloatBuffer vals, ByteBuffer meta, FloatBuffer tail, int rows, int cols, FloatBuffer g,
        int ldg, int n, float beta, FloatBuffer dw, int lddw) {
      Sparse24.spmm24tn(vals, meta, tail, rows, cols, g, ldg, n, beta, dw, lddw);
    }
  }

  // ---- JNI (cpp/jni/sparse24_jni.cpp) ----------------------------------------------------

  static native int nCpuIsa();

  static native int nGetIsa();

  static native int nSetIsa(int isa);

  static native void nSetNumThreads(int n);

  static native int nGetNumThreads();

  static native String nVersion();

  private static native void nPrune24CompressAddr(
      long x, long ldx, int rows, int cols, long vals, long meta, long tail);

  private static native void nDecompress24Addr(
      long vals, long meta, long tail, int rows, int cols, long y, long ldy);

  private static native void nSpmm24nnAddr(
      long vals, long meta, long tail, int rows, int cols, long w, long ldw, int n, float beta,
      long y, long ldy);

  private static native void nSpmm24tnAddr(
      long vals, long meta, long tail, int rows, int cols, long g, long ldg, int n, float beta,
      long dw, long lddw);

  private static native void nPrune24CompressBuf(
      Buffer x, long xo, long ldx, int rows, int cols, Buffer vals, long vo, Buffer meta, long mo,
      Buffer tail, long to);

  private static native void nDecompress24Buf(
      Buffer vals, long vo, Buffer meta, long mo, Buffer tail, long to, int rows, int cols,
      Buffer y, long yo, long ldy);

  private static native void nSpmm24nnBuf(
      Buffer vals, long vo, Buffer meta, long mo, Buffer tail, long to, int rows, int cols,
      Buffer w, long wo, long ldw, int n, float beta, Buffer y, long yo, long ldy);

  private static native void nSpmm24tnBuf(
      Buffer vals, long vo, Buffer meta, long mo, Buffer tail, long to, int rows, int cols,
      Buffer g, long go, long ldg, int n, float beta, Buffer dw, long dwo, long lddw);
}
