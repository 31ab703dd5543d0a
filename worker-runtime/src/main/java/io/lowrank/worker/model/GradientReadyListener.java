package io.lowrank.worker.model;

/**
 * Told by {@link LlamaModel#backward(GradientReadyListener)} as the gradients become final. The
 * parameter layout ({@link ModelLayout#of}) puts the embedding first, the decoder layers in order,
 * then the final norm and the head, and the backward pass visits them in the reverse order, so the
 * finished part of the flat gradient buffer is always a suffix that grows towards offset 0. That
 * lets a data-parallel trainer start all-reducing the suffix while earlier layers still compute.
 */
@FunctionalInterface
public interface GradientReadyListener {
    /** Gradients at flat offsets {@code [offset, count)} will not be written again in this backward pass. */
    void gradientsReadyFrom(int offset);
}
