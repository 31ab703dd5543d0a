package io.lowrank.nativekernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Loader behaviour, including the fallback in a fresh JVM. */
class NativeLibraryTest {

  /** Entry point of the child JVMs: prints availability and which kernels best() returns. */
  public static final class Probe {
    public static void main(String[] args) {
      System.out.println("available=" + NativeLibrary.isAvailable());
      System.out.println("best=" + Sparse24Kernels.best().getClass().getSimpleName());
    }
  }

  @Test
  void describesItself() {
    String d = NativeLibrary.describe();
    System.out.println("[NativeLibraryTest] " + d);
    assertTrue(NativeLibrary.isAvailable() ? d.contains("isa") : d.contains("unavailable"));
    if (NativeLibrary.isAvailable()) {
      assertEquals("available", NativeLibrary.unavailableReason());
      assertTrue(Sparse24Kernels.best() == Sparse24.kernels());
    } else {
      assertTrue(Sparse24Kernels.best() == Sparse24Java.INSTANCE);
    }
  }

  @Test
  void disabledFallsBackWithOneLine() throws Exception {
    String[] out = runProbe("-Dlowrank.native.disable=true");
    assertTrue(out[0].contains("available=false"), out[0]);
    assertTrue(out[0].contains("best=Sparse24Java"), out[0]);
    assertEquals(1, lines(out[1]), "exactly one stderr line: " + out[1]);
    assertTrue(out[1].contains("unavailable") && out[1].contains("Sparse24Java"), out[1]);
  }

  @Test
  void brokenLibraryFallsBackWithOneLine() throws Exception {
    File missing = new File(System.getProperty("java.io.tmpdir"), "no-such-dir-" + System.nanoTime() + "/liblowrank_native.so");
    String[] out = runProbe("-Dlowrank.native.path=" + missing.getAbsolutePath());
    assertTrue(out[0].contains("available=false"), out[0]);
    assertEquals(1, lines(out[1]), "exactly one stderr line: " + out[1]);
  }

  private static int lines(String s) {
    return (int) s.lines().filter(l -> !l.isBlank()).count();
  }

  private static String[] runProbe(String prop) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
    // Java 22+ warns on System.load unless native access is enabled; the product's launchers enable it
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add(prop);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Probe.class.getName());
    Process p = new ProcessBuilder(cmd).start();
    String out = read(p.getInputStream());
    String err = read(p.getErrorStream());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new String[] {out, err};
  }

  private static String read(InputStream in) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    in.transferTo(b);
    return b.toString(StandardCharsets.UTF_8);
  }
}
