package io.lowrank.nativekernels;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Loads {@code liblowrank_native.so} once: from {@code -Dlowrank.native.path=/abs/lib.so} if
 * set, else extracted from the jar resource {@value #RESOURCE} to a temporary file. When the
 * library is missing, the platform is not linux-x86_64, loading fails, the CPU lacks AVX2+FMA,
 * or {@code -Dlowrank.native.disable=true} is set, it prints ONE line to System.err and {@link
 * #isAvailable()} returns false (no exception), so callers use {@link Sparse24Java}.
 *
 * <p>{@code -Dlowrank.native.threads=N} sets the kernels' OpenMP thread count at load (default:
 * OMP_NUM_THREADS, else all cores).
 */
public final class NativeLibrary {
  /** Resource path of the library inside the jar. */
  public static final String RESOURCE = "/native/linux-x86_64/liblowrank_native.so";

  private static final Logger LOG = Logger.getLogger(NativeLibrary.class.getName());
  private static final Object LOCK = new Object();
  private static volatile boolean attempted;
  private static volatile boolean available;
  private static volatile String reason = "not loaded yet";

  private NativeLibrary() {}

  /** True when the native kernels can be used on this machine (loads on first call). */
  public static boolean isAvailable() {
    if (!attempted) {
      synchronized (LOCK) {
        if (!attempted) {
          load();
          attempted = true;
        }
      }
    }
    return available;
  }

  /** Why the native kernels are unavailable ("available" when they are). */
  public static String unavailableReason() {
    isAvailable();
    return reason;
  }

  /** One line describing what was loaded, or why not. */
  public static String describe() {
    if (!isAvailable()) {
      return "lowrank native kernels unavailable: " + reason;
    }
    return loadedDescription();
  }

  // natives called directly: load() runs inside isAvailable()
  private static String loadedDescription() {
    return Sparse24.nVersion()
        + ", isa "
        + isaName(Sparse24.nGetIsa())
        + " (cpu "
        + isaName(Sparse24.nCpuIsa())
        + "), threads "
        + Sparse24.nGetNumThreads();
  }

  static String isaName(int isa) {
    switch (isa) {
      case Sparse24.ISA_AVX512:
        return "avx512";
      case Sparse24.ISA_AVX2:
        return "avx2";
      default:
        return "scalar";
    }
  }

  private static void load() {
    if (Boolean.getBoolean("lowrank.native.disable")) {
      fail("disabled by -Dlowrank.native.disable=true");
      return;
    }
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      fail("no native build for " + os + "/" + arch + " (only linux-x86_64)");
      return;
    }
    try {
      String override = System.getProperty("lowrank.native.path");
      if (override != null && !override.isEmpty()) {
        System.load(Paths.get(override).toAbsolutePath().toString());
      } else if (!loadFromResource()) {
        fail("library resource " + RESOURCE + " is not on the classpath"
            + " (built with -Dnative.skip=true or without cmake/g++)");
        return;
      }
      int cpu = Sparse24.nCpuIsa(); // also proves the JNI symbols resolve
      if (cpu < Sparse24.ISA_AVX2) {
        fail("this CPU lacks AVX2/FMA");
        return;
      }
      available = true;
      reason = "available";
      String threads = System.getProperty("lowrank.native.threads");
      if (threads != null && !threads.isEmpty()) {
        Sparse24.nSetNumThreads(Integer.parseInt(threads.trim()));
      }
      LOG.log(Level.FINE, () -> "loaded " + loadedDescription());
    } catch (UnsatisfiedLinkError | IOException | SecurityException | NumberFormatException e) {
      available = false;
      fail("could not load the library: " + e);
    }
  }

  private static boolean loadFromResource() throws IOException {
    try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return false;
      }
      String dir = System.getProperty("lowrank.native.tmpdir");
      Path tmp =
          dir == null
              ? Files.createTempFile("liblowrank_native", ".so")
              : Files.createTempFile(Paths.get(dir), "liblowrank_native", ".so");
      try {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        System.load(tmp.toAbsolutePath().toString());
      } finally {
        // the mapping stays valid after unlinking on Linux; nothing is left in /tmp
        Files.deleteIfExists(tmp);
      }
      return true;
    }
  }

  private static void fail(String why) {
    reason = why;
    available = false;
    System.err.println(
        "[lowrank-native] native kernels (2:4, fused element-wise) unavailable: "
            + why
            + "; using the Java implementations (Sparse24Java, the worker's FloatKernels loops)");
  }
}
