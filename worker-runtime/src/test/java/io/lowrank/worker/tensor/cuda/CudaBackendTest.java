package io.lowrank.worker.tensor.cuda;

import io.lowrank.nativekernels.NativeLibrary;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the CUDA entry point does where there is no GPU (CI, this project's build machines): it
 * fails at once with a message that names what is missing, and it needs no ND4J to do so.
 */
class CudaBackendTest {

    /** True when this build packaged the CUDA library (native-kernels built with nvcc). */
    private static boolean libraryInBuild() {
        return CudaNative.class.getResource(CudaNative.RESOURCE) != null;
    }

    private static boolean gpuDeviceNodePresent() {
        return Files.exists(Path.of("/dev/nvidia0"));
    }

    /** The message a machine of this kind must give. */
    private static String expectedCause() {
        if (!libraryInBuild()) return "liblowrank_cuda.so is not in this build";
        if (!gpuDeviceNodePresent()) return "no NVIDIA driver or GPU found";
        return "";  // a GPU machine: any of the later causes
    }

    @Test
    void openFailsNamingWhatIsMissing() {
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaBackend.open(0, "f32"));
        assertTrue(e.getMessage().contains(expectedCause()), e.getMessage());
        CudaUnavailableException b = assertThrows(CudaUnavailableException.class, () -> CudaBackend.open(0, "bf16"));
        assertEquals(e.getMessage(), b.getMessage());
    }

    @Test
    void badArgumentsAreNamed() {
        IllegalArgumentException p = assertThrows(IllegalArgumentException.class, () -> CudaBackend.open(0, "fp16"));
        assertTrue(p.getMessage().contains("'fp16'"), p.getMessage());
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> CudaBackend.open(-1, "f32"));
        assertTrue(d.getMessage().contains("-1"), d.getMessage());
    }

    /**
     * The CUDA path on a class path with only this project's worker-runtime and native-kernels
     * classes (no ND4J, no JavaCPP, no other jar): a reference to any of them would end in
     * NoClassDefFoundError instead of CudaUnavailableException.
     */
    @Test
    void needsNoNd4jOnTheClassPath() throws Exception {
        URL worker = CudaBackend.class.getProtectionDomain().getCodeSource().getLocation();
        URL kernels = NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader bare = new URLClassLoader(new URL[] {worker, kernels}, ClassLoader.getPlatformClassLoader())) {
            Class<?> c = Class.forName(CudaBackend.class.getName(), true, bare);
            assertTrue(c.getClassLoader() == bare, "loaded from the bare class loader");
            Method open = c.getMethod("open", int.class, String.class);
            InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> open.invoke(null, 0, "f32"));
            assertEquals(CudaUnavailableException.class.getName(), e.getCause().getClass().getName(), String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains(expectedCause()), e.getCause().getMessage());
            assertThrows(ClassNotFoundException.class, () -> Class.forName("org.nd4j.linalg.factory.Nd4j", false, bare));
        }
    }
}
