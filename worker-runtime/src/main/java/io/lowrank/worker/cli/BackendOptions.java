package io.lowrank.worker.cli;

import io.lowrank.worker.tensor.BackendChoice;
import picocli.CommandLine.Option;

/**
 * {@code --backend}, {@code --precision} and {@code --device}: which backend a command computes on
 * (shared by train-local, eval, grad and bench; Spark's train has its own, as config fields). Turned
 * into a {@link BackendChoice}, which rejects impossible combinations naming the option.
 */
public final class BackendOptions {
    @Option(names = "--backend", paramLabel = "B", description = "cpu (ND4J + native CPU kernels) or cuda (this machine's NVIDIA GPU) (default: cpu)")
    public String backend;

    @Option(names = "--precision", paramLabel = "P",
            description = "cuda only: f32 (float32, TF32 off) or bf16 (bf16 products, fp32 master weights and loss) (default: f32)")
    public String precision;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "cuda only: the GPU's CUDA device ordinal (default: ${DEFAULT-VALUE})")
    public int device;

    /** The choice with the command's dtype (null: float32) and CPU threads. */
    public BackendChoice choice(String dtype, int threads) {
        return BackendChoice.of("--backend", backend, "--precision", precision, "--dtype", dtype, threads, device);
    }
}
