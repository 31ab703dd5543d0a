package io.lowrank.worker.tensor;

import java.util.Locale;

/**
 * Which backend a command or a worker runs on, and how: the kind (cpu or cuda), the precision of
 * the cuda backend (f32 or bf16 mixed precision), the CPU backend's dtype and threads, and the GPU's
 * device ordinal. Checked when built, so an impossible combination (bf16 on the CPU, float64 on the
 * GPU) is rejected before any work with the option named. {@link Backends#open} turns it into a
 * backend.
 *
 * <p>This class names no backend class: building a choice loads neither ND4J nor CUDA code.
 */
public final class BackendChoice {
    public enum Kind {
        CPU, CUDA;

        public String id() { return name().toLowerCase(Locale.ROOT); }

        /** "cpu" or "cuda"; anything else is an error naming {@code option}. */
        public static Kind parse(String option, String value) {
            switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "cpu": return CPU;
                case "cuda": case "gpu": return CUDA;
                default: throw new IllegalArgumentException(option + ": unknown backend '" + value + "' (cpu or cuda)");
            }
        }
    }

    public enum Precision {
        /** float32 everywhere (TF32 off on the GPU): the parity path. */
        F32,
        /** bf16 operands, fp32 accumulation, fp32 master weights and optimizer state (cuda only). */
        BF16;

        public String id() { return name().toLowerCase(Locale.ROOT); }

        /** "f32" or "bf16" (also float32, bfloat16); anything else is an error naming {@code option}. */
        public static Precision parse(String option, String value) {
            switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "f32": case "fp32": case "float32": return F32;
                case "bf16": case "bfloat16": return BF16;
                default: throw new IllegalArgumentException(option + ": unknown precision '" + value + "' (f32 or bf16)");
            }
        }
    }

    /** The CPU backend's product library when {@link #cpuGemm} is not given: {@code -Dlowrank.gemm} (auto by default). */
    public static final String GEMM_FROM_PROPERTY = null;

    public final Kind kind;
    public final Precision precision;
    public final DType dtype;
    public final int threads;
    /** The CUDA device ordinal (the Spark task's GPU address); 0 unless told. Ignored on the CPU. */
    public final int device;
    /**
     * CPU only: whether the float32 2:4 and fused element-wise ops run in the native kernels; null =
     * the CPU backend's default (on unless -Dlowrank.native.disable=true).
     */
    public final Boolean cpuNativeKernels;
    /** CPU only: "auto", "openblas" or "native" for the float32 products; null = -Dlowrank.gemm. */
    public final String cpuGemm;

    private BackendChoice(Kind kind, Precision precision, DType dtype, int threads, int device, Boolean cpuNativeKernels, String cpuGemm) {
        this.kind = kind;
        this.precision = precision;
        this.dtype = dtype;
        this.threads = threads;
        this.device = device;
        this.cpuNativeKernels = cpuNativeKernels;
        this.cpuGemm = cpuGemm;
        check();
    }

    /** The CPU backend with the native kernels and product library as configured by default (-Dlowrank.native.disable, -Dlowrank.gemm). */
    public static BackendChoice cpu(DType dtype, int threads) {
        return new BackendChoice(Kind.CPU, Precision.F32, dtype, threads, 0, null, GEMM_FROM_PROPERTY);
    }

    /** The CUDA backend on device {@code device} in the given precision (float32 tensors on the host side). */
    public static BackendChoice cuda(Precision precision, int device) {
        return new BackendChoice(Kind.CUDA, precision, DType.F32, 1, device, null, GEMM_FROM_PROPERTY);
    }

    /**
     * From command-line or config values; null means the default (cpu, f32, float32). The option
     * names ({@code --backend} or {@code train.backend}, ...) go into the error messages.
     */
    public static BackendChoice of(String backendOption, String backend, String precisionOption, String precision,
                                   String dtypeOption, String dtype, int threads, int device) {
        Kind k = backend == null ? Kind.CPU : Kind.parse(backendOption, backend);
        Precision p = precision == null ? Precision.F32 : Precision.parse(precisionOption, precision);
        DType d;
        try {
            d = dtype == null ? DType.F32 : DType.parse(dtype);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dtypeOption + ": " + e.getMessage());
        }
        if (p == Precision.BF16 && k != Kind.CUDA) {
            throw new IllegalArgumentException(precisionOption + " bf16 needs " + backendOption + " cuda: the cpu backend computes in "
                    + "float32 or float64 (" + dtypeOption + ")");
        }
        if (k == Kind.CUDA && d != DType.F32) {
            throw new IllegalArgumentException(dtypeOption + " " + dtype + " runs on the cpu backend only: the cuda "
                    + "backend computes in float32 or bf16 (" + precisionOption + ")");
        }
        return new BackendChoice(k, p, d, threads, device, null, GEMM_FROM_PROPERTY);
    }

    /** The same choice with the CPU backend's native kernels on or off (null: its default) and its product library (auto, openblas, native; null = -Dlowrank.gemm). */
    public BackendChoice withCpuKernels(Boolean nativeKernels, String gemm) {
        return new BackendChoice(kind, precision, dtype, threads, device, nativeKernels, gemm);
    }

    /** The same choice bound to another GPU (a Spark task's address). */
    public BackendChoice onDevice(int deviceOrdinal) {
        return new BackendChoice(kind, precision, dtype, threads, deviceOrdinal, cpuNativeKernels, cpuGemm);
    }

    /** The same choice with another thread count. */
    public BackendChoice withThreads(int n) {
        return new BackendChoice(kind, precision, dtype, n, device, cpuNativeKernels, cpuGemm);
    }

    private void check() {
        if (precision == Precision.BF16 && kind != Kind.CUDA) throw new IllegalArgumentException("precision bf16 needs the cuda backend");
        if (kind == Kind.CUDA && dtype != DType.F32) throw new IllegalArgumentException("the cuda backend computes in float32 or bf16, not " + dtype);
        if (device < 0) throw new IllegalArgumentException("device ordinal must be >= 0, got " + device);
        if (cpuGemm != null && !cpuGemm.equals("auto") && !cpuGemm.equals("openblas") && !cpuGemm.equals("native")) {
            throw new IllegalArgumentException("cpu gemm must be auto, openblas or native, not '" + cpuGemm + "'");
        }
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu " + dtype + " x" + threads : "cuda:" + device + " " + precision.id();
    }
}
