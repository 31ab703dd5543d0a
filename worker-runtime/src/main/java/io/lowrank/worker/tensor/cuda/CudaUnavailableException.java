package io.lowrank.worker.tensor.cuda;

/**
 * The CUDA backend cannot run here. The message names what is missing and what to do: no NVIDIA
 * driver or GPU, a GPU ordinal that does not exist, cuBLASLt not found (with the paths searched),
 * the CUDA library not in this build, or the backend's operations not implemented yet.
 */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
