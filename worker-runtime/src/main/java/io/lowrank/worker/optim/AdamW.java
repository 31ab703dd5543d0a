package io.lowrank.worker.optim;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * AdamW with decoupled weight decay, exactly PyTorch's torch.optim.AdamW (bias-corrected moments,
 * eps added to the corrected sqrt(v)). Works on the flat parameter and gradient buffers; the
 * moments m and v are flat buffers of the same length, allocated once.
 */
public final class AdamW {
    private final Backend be;
    private final Tensor m, v;
    public final double beta1, beta2, eps, weightDecay;
    private long step;

    public AdamW(Backend be, int size, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight_decay must be >= 0, got " + weightDecay);
        this.be = be;
        this.m = be.allocate(size);
        this.v = be.allocate(size);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** One update of every parameter with learning rate lr. */
    public void step(Tensor params, Tensor grads, double lr) {
        step++;
        be.adamw(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }

    public long stepCount() { return step; }
    public Tensor firstMoment() { return m; }
    public Tensor secondMoment() { return v; }

    /** Restores the state saved in a checkpoint. */
    public void restore(long stepCount) { this.step = stepCount; }
}
