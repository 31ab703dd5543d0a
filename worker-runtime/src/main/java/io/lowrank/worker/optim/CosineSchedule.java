package io.lowrank.worker.optim;

/**
 * Linear warmup from 0 to the peak over W steps, then cosine decay to minRatio x peak at step T
 * (methods.md section 2): mult(t) = t/W for t < W, else
 * minRatio + (1 - minRatio) * 0.5 * (1 + cos(pi (t - W) / (T - W))), held at minRatio after T.
 * Step t counts optimizer steps from 0, as PyTorch's LambdaLR does: the very first update uses
 * mult(0) = 0 when W > 0.
 */
public final class CosineSchedule {
    public final double peakLr;
    public final long warmup, total;
    public final double minRatio;

    public CosineSchedule(double peakLr, long warmup, long total, double minRatio) {
        if (!(peakLr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + peakLr);
        if (warmup < 0) throw new IllegalArgumentException("warmup_steps must be >= 0, got " + warmup);
        if (total <= warmup) throw new IllegalArgumentException("steps (" + total + ") must exceed warmup_steps (" + warmup + ")");
        this.peakLr = peakLr;
        this.warmup = warmup;
        this.total = total;
        this.minRatio = minRatio;
    }

    public double multiplier(long t) {
        if (t < warmup) return (double) t / warmup;
        if (t >= total) return minRatio;
        double progress = (double) (t - warmup) / (total - warmup);
        return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    public double lr(long t) { return peakLr * multiplier(t); }
}
