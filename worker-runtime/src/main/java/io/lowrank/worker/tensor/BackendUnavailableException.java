package io.lowrank.worker.tensor;

/**
 * The chosen backend cannot run here (no CUDA backend in this build, no driver, no device, a
 * library not found). The message says what is missing and what to do; commands print it without
 * a stack trace.
 */
public final class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
