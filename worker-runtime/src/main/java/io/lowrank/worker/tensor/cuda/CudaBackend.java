package io.lowrank.worker.tensor.cuda;

import io.lowrank.worker.tensor.Backend;

/**
 * The GPU backend (issue 13). Built so far: the CUDA kernels and the cuBLASLt wrapper in
 * native-kernels/cuda (compiled with nvcc for sm_80/sm_90a, NOT yet run on a GPU), the JNI glue
 * ({@link CudaNative}) and this entry point, which checks everything a GPU run needs (the
 * library, an NVIDIA driver, the device ordinal, cuBLASLt) and says what is missing.
 *
 * <p>Not built yet: the {@link Backend} operations on device tensors. The class stays abstract
 * until they are, so {@link #open} ends every attempt with a {@link CudaUnavailableException}
 * that says so, after the checks; it never hands out a backend that cannot compute. Loading this
 * class loads no ND4J or JavaCPP class (a test proves it with a class loader that has none).
 */
public abstract class CudaBackend implements Backend {

    CudaBackend() {}

    /**
     * Opens GPU {@code deviceOrdinal} with {@code precision} "f32" (float32, TF32 off) or "bf16"
     * (bf16 operands, fp32 accumulation, fp32 master weights).
     *
     * @throws IllegalArgumentException for another precision or a negative ordinal
     * @throws CudaUnavailableException naming what is missing: the CUDA library in this build, an
     *         NVIDIA driver or GPU, the device ordinal, cuBLASLt (with the paths searched), or the
     *         backend's operations (not implemented yet)
     */
    public static CudaBackend open(int deviceOrdinal, String precision) {
        int prec = precisionCode(precision);
        if (deviceOrdinal < 0) throw new IllegalArgumentException("GPU ordinal must be >= 0, got " + deviceOrdinal);
        CudaNative.load();
        String probe = CudaNative.nProbe(deviceOrdinal);
        int space = probe.indexOf(' ');
        int status = Integer.parseInt(space < 0 ? probe : probe.substring(0, space));
        String message = space < 0 ? "" : probe.substring(space + 1);
        if (status != CudaNative.OK) throw new CudaUnavailableException(message);
        long ctx = CudaNative.nOpen(deviceOrdinal, prec);  // streams, cuBLASLt handle, workspace: proves them
        String found;
        try {
            found = CudaNative.nDescribe(ctx);
        } finally {
            CudaNative.nClose(ctx);
        }
        throw new CudaUnavailableException("found " + message + " (" + found + ", precision " + precision
                + "), but the CUDA backend's tensor operations are not implemented yet: its kernels are compiled"
                + " but not wired to the Backend interface (issue 13). Use --backend cpu.");
    }

    static int precisionCode(String precision) {
        if ("f32".equals(precision)) return 0;
        if ("bf16".equals(precision)) return 1;
        throw new IllegalArgumentException("precision must be f32 or bf16, got '" + precision + "'");
    }
}
