package io.lowrank.worker.train;

import io.lowrank.worker.model.GradientReadyListener;

import java.nio.FloatBuffer;

/**
 * Writes one value (NaN or Inf) into one element of this worker's gradient at the moment the
 * backward pass declares that element final, before its bucket can reach the all-reduce, then
 * passes the notification on. This is how a worker whose own loss is non-finite makes every
 * worker skip the step: the poisoned element turns the all-reduced sum non-finite on all ranks at
 * once (x + NaN = NaN, x + Inf = Inf or NaN), so the skip decision travels with the gradients and
 * needs no extra collective. Also the test hook that injects an Inf into one rank's gradient.
 */
final class GradientPoison implements GradientReadyListener {
    private final GradientReadyListener next;   // null: no all-reduce (a single worker)
    private final FloatBuffer grads;
    private final int base, index;
    private final float value;
    private boolean written;

    /** @param index element of the flat gradient (relative to {@code base}) that receives {@code value} */
    GradientPoison(GradientReadyListener next, FloatBuffer grads, int base, int index, float value) {
        this.next = next;
        this.grads = grads;
        this.base = base;
        this.index = index;
        this.value = value;
    }

    @Override
    public void gradientsReadyFrom(int offset) {
        if (!written && offset <= index) write();
        if (next != null) next.gradientsReadyFrom(offset);
    }

    /** After the backward pass: writes the value if no notification covered the element (a model that reports nothing). */
    void afterBackward() {
        if (!written) write();
    }

    private void write() {
        grads.put(base + index, value);
        written = true;
    }
}
