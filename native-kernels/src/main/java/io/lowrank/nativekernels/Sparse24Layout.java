package io.lowrank.nativekernels;

import java.nio.Buffer;

/**
 * The 2:4 compressed layout shared by the native kernels ({@link Sparse24}) and the Java
 * implementation ({@link Sparse24Java}), plus the argument checks both run before any work.
 *
 * <p>A dense row-major matrix X[rows, cols] (row = token, column = feature) is stored as
 *
 * <ul>
 *   <li>{@code vals[rows, 2*G]} float32, G = cols/4: per group of 4 consecutive features the 2
 *       kept values, lower feature index first;
 *   <li>{@code meta[rows, G]} one byte per group: bits 0-1 = i0, bits 2-3 = i1, bits 4-7 = 0,
 *       with 0 &lt;= i0 &lt; i1 &lt;= 3 the kept positions (features 4g+i0, 4g+i1);
 *   <li>{@code tail[rows, T]} float32, T = cols%4: the last T features of every row, dense.
 * </ul>
 *
 * All three are contiguous. Selection: the two largest magnitudes, compared as the IEEE-754 bits
 * with the sign cleared (|x| order, -0 == +0, NaN above +inf); ties go to the lower index.
 *
 * <p>Buffers: an operand starts at the buffer's {@code position()} (element index) and must
 * have {@code remaining()} at least its extent; dense operands are row-major with a leading
 * dimension {@code ld >= width}, extent {@code (rows-1)*ld + width}.
 */
public final class Sparse24Layout {
  private Sparse24Layout() {}

  /** Full groups of 4 per row. */
  public static int groups(int cols) {
    return cols / 4;
  }

  /** Dense tail features per row. */
  public static int tailWidth(int cols) {
    return cols % 4;
  }

  /** Length of {@code vals} for a [rows, cols] matrix. */
  public static long valuesLength(int rows, int cols) {
    return (long) rows * 2L * (cols / 4);
  }

  /** Length of {@code meta} (bytes) for a [rows, cols] matrix. */
  public static long metaLength(int rows, int cols) {
    return (long) rows * (cols / 4);
  }

  /** Length of {@code tail} for a [rows, cols] matrix. */
  public static long tailLength(int rows, int cols) {
    return (long) rows * (cols % 4);
  }

  /** Elements spanned by a dense [rows, width] matrix with leading dimension ld. */
  public static long denseExtent(int rows, int width, long ld) {
    if (rows == 0 || width == 0) {
      return 0;
    }
    return (long) (rows - 1) * ld + width;
  }

  static void checkDims(int rows, int cols, int n) {
    if (rows < 0 || cols < 0 || n < 0) {
      throw new IllegalArgumentException(
          "negative dimension: rows=" + rows + " cols=" + cols + " n=" + n);
    }
  }

  static void checkLd(String name, long ld, int width) {
    if (ld < width || ld < 0) {
      throw new IllegalArgumentException(
          "leading dimension " + name + "=" + ld + " is smaller than the row width " + width);
    }
  }

  static void checkRemaining(String name, Buffer b, long need) {
    if (b == null) {
      if (need > 0) {
        throw new IllegalArgumentException(name + " is null but " + need + " elements are needed");
      }
      return;
    }
    if (b.remaining() < need) {
      throw new IllegalArgumentException(
          name + " too small: remaining " + b.remaining() + " < needed " + need);
    }
  }

  static void checkWritable(String name, Buffer b) {
    if (b != null && b.isReadOnly()) {
      throw new IllegalArgumentException(name + " is read-only");
    }
  }

  /** Shape checks of the compressed operand (vals, meta, tail) of a [rows, cols] matrix. */
  static void checkCompressed(Buffer vals, Buffer meta, Buffer tail, int rows, int cols) {
    checkRemaining("vals", vals, valuesLength(rows, cols));
    checkRemaining("meta", meta, metaLength(rows, cols));
    checkRemaining("tail", tail, tailLength(rows, cols));
  }
}
