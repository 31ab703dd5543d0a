package io.lowrank.worker.tensor;

import io.lowrank.worker.tensor.cuda.CudaBackend;
import io.lowrank.worker.tensor.cuda.CudaUnavailableException;

/**
 * The one place where a backend is built from a {@link BackendChoice}. The CPU backend (ND4J +
 * OpenBLAS + the native CPU kernels) sits behind {@link CpuBackendFactory}, which only the cpu
 * branch reaches, so that choosing cuda loads no ND4J or JavaCPP class: the GPU path
 * runs with neither on the classpath (a jlinked JRE and the project's own jars, see
 * bin/gpu-check-bundle). A missing or unusable GPU backend fails at once with
 * {@link BackendUnavailableException} naming what is missing.
 */
public final class Backends {
    private Backends() {}

    public static Backend open(BackendChoice choice) {
        switch (choice.kind) {
            case CPU: return CpuBackendFactory.open(choice);
            case CUDA: return openCuda(choice);
            default: throw new AssertionError(choice.kind);
        }
    }

    /**
     * CudaBackend.open names what is missing (driver, device, cuBLASLt and the paths searched, or a
     * build without the CUDA library); the choice's device and precision are added here.
     */
    private static Backend openCuda(BackendChoice choice) {
        try {
            return CudaBackend.open(choice.device, choice.precision.id());
        } catch (CudaUnavailableException e) {
            throw new BackendUnavailableException("--backend cuda (device " + choice.device + ", " + choice.precision.id() + "): " + e.getMessage(), e);
        }
    }
}
