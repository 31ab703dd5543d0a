package io.lowrank.worker.tensor;

/**
 * Builds the ND4J CPU backend. The only class outside Nd4jCpuBackend itself that names it, and
 * reached only when the CPU backend is chosen: {@link Backends} stays free of ND4J references, so
 * the CUDA path never loads (or verifies against) an ND4J or JavaCPP class.
 */
final class CpuBackendFactory {
    private CpuBackendFactory() {}

    static Backend open(BackendChoice c) {
        boolean nativeKernels = c.cpuNativeKernels != null ? c.cpuNativeKernels : Nd4jCpuBackend.nativeKernelsByDefault();
        Nd4jCpuBackend.GemmEngine gemm = c.cpuGemm == null ? Nd4jCpuBackend.GemmEngine.fromProperty()
                : Nd4jCpuBackend.GemmEngine.valueOf(c.cpuGemm.toUpperCase(java.util.Locale.ROOT));
        return new Nd4jCpuBackend(c.dtype, c.threads, nativeKernels, gemm);
    }
}
