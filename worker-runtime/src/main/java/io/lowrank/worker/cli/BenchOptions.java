package io.lowrank.worker.cli;

import io.lowrank.worker.tensor.BackendChoice;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/**
 * The options of {@code bench} for its single-process suites (train, sgemm, spmm24, fused, generate); the
 * brackets in each description name the suites that read it. The Spark launcher's {@code bench}
 * adds the allreduce suite's options next to these.
 */
public final class BenchOptions {
    @Option(names = "--suite", paramLabel = "S", defaultValue = "train",
            description = "what to time: train (full training steps), sgemm, spmm24, fused, allreduce, generate (inference) (default: ${DEFAULT-VALUE})")
    public String suite;

    @Option(names = "--preset", paramLabel = "P", description = "[train, spmm24, fused, generate] model preset: tiny, 60m, 130m, ... (required for these)")
    public String preset;

    @Option(names = "--layer", paramLabel = "L[,L...]",
            description = "[train, generate] projection layers to compare in one process, e.g. full,cola (required); [fused] one layer (default: cola)")
    public String layer;

    @Option(names = "--seq-len", paramLabel = "N", description = "[train, fused] tokens per sequence (default: the preset's train.seq_len)")
    public Integer seqLen;

    @Option(names = "--batch", paramLabel = "B", description = "[train, fused] sequences per step (default: the preset's train.batch_size); [generate] sequences generated at once (default: 1)")
    public Integer batch;

    @Option(names = "--steps", paramLabel = "N", description = "timed steps [train] (default: 5), repetitions [sgemm, spmm24, fused] (default: 7) or generations per layer [generate] (default: 3)")
    public Integer steps;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2", description = "untimed steps or repetitions first (default: ${DEFAULT-VALUE})")
    public int warmup;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads (default: all cores)")
    public Integer threads;

    @Option(names = "--size", paramLabel = "N", defaultValue = "2048", description = "[sgemm] N x N x N product (default: ${DEFAULT-VALUE})")
    public int size;

    @Option(names = "--sgemm-size", paramLabel = "N",
            description = "[train] also probe the sgemm peak per gemm engine (best of warmed-up N x N x N and the step's own product shapes, same threads) and report the step's fraction of it (default: no probe)")
    public Integer sgemmSize;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "2048", description = "[spmm24] rows (tokens) of the sparse operand (default: ${DEFAULT-VALUE})")
    public int tokens;

    @Option(names = "--native", paramLabel = "both",
            description = "[train] 'both': run every layer with the native kernels and with the Java paths (default: the default kernels only)")
    public String nativeMode;

    @Option(names = "--gemm", paramLabel = "E",
            description = "[train] both, auto, openblas or native; [sgemm] auto, openblas or native: the library of the products (default: -Dlowrank.gemm, else auto)")
    public String gemm;

    @Option(names = "--prompt-len", paramLabel = "N", defaultValue = "128", description = "[generate] prompt tokens per sequence, prefilled in one pass (default: ${DEFAULT-VALUE})")
    public int promptLen;

    @Option(names = "--new-tokens", paramLabel = "M", defaultValue = "32", description = "[generate] tokens generated per sequence, M - 1 of them by decode steps (default: ${DEFAULT-VALUE})")
    public int newTokens;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "[train, spmm24, fused] override a preset value (repeatable; default: none)")
    public List<String> set = new ArrayList<>();

    @Option(names = "--backend", paramLabel = "B", description = "[train, sgemm] cpu or cuda (default: cpu)")
    public String backend;

    @Option(names = "--precision", paramLabel = "P", description = "[train, sgemm] cuda only: f32 (TF32 off) or bf16 mixed precision (default: f32)")
    public String precision;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "[train, sgemm] cuda only: the GPU's CUDA device ordinal (default: ${DEFAULT-VALUE})")
    public int device;

    int threads() { return threads != null ? threads : Runtime.getRuntime().availableProcessors(); }

    /** --backend, --precision, --device with --threads (the benchmarks run float32). */
    BackendChoice backendChoice() {
        return BackendChoice.of("--backend", backend, "--precision", precision, "--dtype", null, threads(), device);
    }

    String required(String value, String option) {
        if (value == null) throw new UsageException("bench --suite " + suite + ": missing required option " + option);
        return value;
    }
}
