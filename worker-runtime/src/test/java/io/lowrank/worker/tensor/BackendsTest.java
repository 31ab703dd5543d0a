package io.lowrank.worker.tensor;

import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.train.RunConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backend selection in one place: the values and combinations a choice accepts, the errors naming
 * the option or config field, the CPU backend it builds, and --backend cuda failing at once with a
 * message naming what is missing (this machine has no GPU; the build may lack the CUDA backend).
 */
class BackendsTest {

    @Test
    void defaultsAreTheCpuBackendInFloat32() {
        BackendChoice c = BackendChoice.of("--backend", null, "--precision", null, "--dtype", null, 3, 0);
        assertEquals(BackendChoice.Kind.CPU, c.kind);
        assertEquals(BackendChoice.Precision.F32, c.precision);
        assertEquals(DType.F32, c.dtype);
        assertEquals(3, c.threads);
        assertNull(c.cpuNativeKernels);
        assertNull(c.cpuGemm);
    }

    @Test
    void badValuesAndCombinationsNameTheOption() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BackendChoice.of("--backend", "tpu", "--precision", null, "--dtype", null, 1, 0));
        assertTrue(e.getMessage().startsWith("--backend: unknown backend 'tpu'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BackendChoice.of("--backend", "cuda", "--precision", "fp8", "--dtype", null, 1, 0));
        assertTrue(e.getMessage().startsWith("--precision: unknown precision 'fp8'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BackendChoice.of("--backend", "cpu", "--precision", "bf16", "--dtype", null, 1, 0));
        assertTrue(e.getMessage().startsWith("--precision bf16 needs --backend cuda"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BackendChoice.of("--backend", "cuda", "--precision", "f32", "--dtype", "float64", 1, 0));
        assertTrue(e.getMessage().startsWith("--dtype float64 runs on the cpu backend only"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BackendChoice.of("--backend", null, "--precision", null, "--dtype", "int8", 1, 0));
        assertTrue(e.getMessage().startsWith("--dtype: unknown dtype 'int8'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BackendChoice.cuda(BackendChoice.Precision.BF16, -1));

        BackendChoice bf16 = BackendChoice.of("--backend", "cuda", "--precision", "bf16", "--dtype", null, 1, 2);
        assertEquals(BackendChoice.Kind.CUDA, bf16.kind);
        assertEquals(BackendChoice.Precision.BF16, bf16.precision);
        assertEquals(2, bf16.device);
        assertEquals(5, bf16.onDevice(5).device);
    }

    @Test
    void runConfigNamesTheField() throws Exception {
        RunConfig rc = RunConfig.load("tiny", "cola");
        assertNull(rc.backend());
        assertEquals(BackendChoice.Kind.CPU, rc.backendChoice(2).kind);
        RunConfig cuda = rc.with(Map.of("train.backend", "cuda", "train.precision", "bf16"));
        assertEquals("cuda", cuda.backend());
        assertEquals(BackendChoice.Precision.BF16, cuda.backendChoice(2).precision);
        assertEquals("cuda", cuda.toJson().get("train").get("backend").asText());   // run.json keeps it for --resume

        ConfigException e = assertThrows(ConfigException.class, () -> rc.with("train.backend", "metal"));
        assertEquals("train.backend", e.field);
        assertTrue(e.getMessage().contains("unknown backend 'metal' (cpu or cuda)"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> rc.with("train.precision", "bf16"));
        assertEquals("train.precision", e.field);
        assertTrue(e.getMessage().contains("bf16 needs train.backend cuda"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> rc.with(Map.of("train.backend", "cuda", "train.dtype", "float64")));
        assertEquals("train.dtype", e.field);
        assertTrue(e.getMessage().contains("float64 runs on the cpu backend only"), e.getMessage());
    }

    @Test
    void cpuChoiceBuildsTheNd4jBackendItNames() {
        try (Backend be = Backends.open(BackendChoice.cpu(DType.F64, 2))) {
            assertTrue(be instanceof Nd4jCpuBackend, be.getClass().getName());
            assertEquals(DType.F64, be.dtype());
        }
        try (Backend be = Backends.open(BackendChoice.cpu(DType.F32, 2).withCpuKernels(false, "openblas"))) {
            Nd4jCpuBackend cpu = (Nd4jCpuBackend) be;
            assertFalse(cpu.nativeFused());
            assertFalse(cpu.nativeGemm());
            // it computes: a product checked against a double loop on random inputs
            Tensor a = be.allocate(5, 7), b = be.allocate(7, 3), c = be.allocate(5, 3);
            java.util.SplittableRandom r = new java.util.SplittableRandom(3);
            for (int i = 0; i < a.size; i++) a.set(i, r.nextDouble() - 0.5);
            for (int i = 0; i < b.size; i++) b.set(i, r.nextDouble() - 0.5);
            be.matmul(a, false, b, false, c, 0.0);
            for (int i = 0; i < 5; i++) {
                for (int j = 0; j < 3; j++) {
                    double s = 0;
                    for (int k = 0; k < 7; k++) s += a.get(i * 7 + k) * b.get(k * 3 + j);
                    assertEquals(s, c.get(i * 3 + j), 1e-5);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> BackendChoice.cpu(DType.F32, 1).withCpuKernels(true, "mkl"));
    }

    /**
     * No GPU here: --backend cuda stops at once with a BackendUnavailableException that names the
     * device and precision and passes the CUDA backend's own message (driver, device or library
     * missing, see CudaBackendTest) through unchanged.
     */
    @Test
    void cudaWithoutGpuFailsAtOnceNamingWhatIsMissing() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.open(BackendChoice.cuda(BackendChoice.Precision.F32, 0)));
        String m = e.getMessage();
        assertTrue(m.startsWith("--backend cuda (device 0, f32): "), m);
        assertTrue(e.getCause() instanceof io.lowrank.worker.tensor.cuda.CudaUnavailableException, String.valueOf(e.getCause()));
        assertTrue(m.endsWith(e.getCause().getMessage()), m);
    }
}
