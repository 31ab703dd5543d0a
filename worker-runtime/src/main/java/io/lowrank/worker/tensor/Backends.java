package io.lowrank.worker.tensor;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The one place where a backend is built from a {@link BackendChoice}. The CPU backend (ND4J +
 * OpenBLAS + the native CPU kernels) sits behind {@link CpuBackendFactory} and the CUDA backend is
 * found by name at run time, so that choosing cuda loads no ND4J or JavaCPP class: the GPU path
 * runs with neither on the classpath (a jlinked JRE and the project's own jars, see
 * bin/gpu-check-bundle). A missing or unusable GPU backend fails at once with
 * {@link BackendUnavailableException} naming what is missing.
 */
public final class Backends {
    private Backends() {}

    /** The CUDA backend's class; a build without native-kernels/cuda does not have it. */
    public static final String CUDA_BACKEND_CLASS = "io.lowrank.worker.tensor.cuda.CudaBackend";

    public static Backend open(BackendChoice choice) {
        switch (choice.kind) {
            case CPU: return CpuBackendFactory.open(choice);
            case CUDA: return openCuda(choice);
            default: throw new AssertionError(choice.kind);
        }
    }

    /** CudaBackend.open(deviceOrdinal, "f32"|"bf16"), called by reflection: this module does not depend on it. */
    private static Backend openCuda(BackendChoice choice) {
        Method open;
        try {
            open = Class.forName(CUDA_BACKEND_CLASS).getMethod("open", int.class, String.class);
        } catch (ClassNotFoundException e) {
            throw new BackendUnavailableException("--backend cuda: this build has no CUDA backend (class " + CUDA_BACKEND_CLASS
                    + " is not on the classpath); use --backend cpu, or a build that includes native-kernels/cuda");
        } catch (NoSuchMethodException | LinkageError e) {
            throw new BackendUnavailableException("--backend cuda: " + CUDA_BACKEND_CLASS + " in this build cannot be used ("
                    + e + "); the jars on the classpath do not match");
        }
        try {
            return (Backend) open.invoke(null, choice.device, choice.precision.id());
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            // CudaUnavailableException names the driver, device or library that is missing (and the paths searched)
            String what = cause.getMessage() != null ? cause.getMessage() : cause.toString();
            if (cause instanceof LinkageError) what = "its native library did not load: " + what;
            throw new BackendUnavailableException("--backend cuda (device " + choice.device + ", " + choice.precision.id() + "): " + what, cause);
        } catch (IllegalAccessException e) {
            throw new BackendUnavailableException("--backend cuda: " + CUDA_BACKEND_CLASS + ".open is not public: " + e.getMessage());
        }
    }
}
