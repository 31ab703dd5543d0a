package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Reference initialisation (methods.md): embedding, head and full-rank linears N(0, 0.02^2); norm
 * weights 1; CoLA factors N(0, s^2) with s = r^(-1/4) (d_in + d_out)^(-1/4). CR-Net (unpublished,
 * our choice): factors as CoLA's, beta = 1. ELAS: Xavier-normal per factor, std sqrt(2 / (fan_in +
 * fan_out)). Deterministic for a seed: parameters are filled in layout order from one generator.
 */
public final class Initializer {
    private Initializer() {}

    public static void initialize(ParameterStore store, ModelConfig c, long seed) {
        Gaussian g = new Gaussian(seed);
        Backend be = store.backend();
        for (ParameterStore.Param p : store.params()) {
            String n = p.name;
            if (n.endsWith("layernorm.weight") || n.equals("model.norm.weight")) {
                fill(be, p.value, 1.0);
            } else if (n.endsWith(".cr_beta")) {
                fill(be, p.value, 1.0);
            } else if (n.endsWith(".w_in") || n.endsWith(".w_out")) {
                // w_in [in, r] maps in -> r; w_out [out, r] maps r -> out: fans are the two dims either way
                normal(be, p.value, g, Math.sqrt(2.0 / (p.value.dim(0) + p.value.dim(1))));
            } else if (n.endsWith(".cola_a") || n.endsWith(".cola_b") || n.endsWith(".cr_a") || n.endsWith(".cr_b")) {
                String base = n.substring(0, n.lastIndexOf('.'));
                String proj = base.substring(base.lastIndexOf('.') + 1);
                int[] io = ModelLayout.projectionDims(c, proj);
                double s = Math.pow(c.rank, -0.25) * Math.pow(io[0] + io[1], -0.25);
                normal(be, p.value, g, s);
            } else {
                normal(be, p.value, g, c.initStd);
            }
        }
    }

    static void fill(Backend be, Tensor t, double v) {
        double[] h = new double[t.size];
        java.util.Arrays.fill(h, v);
        be.copyFromHost(h, t);
    }

    static void normal(Backend be, Tensor t, Gaussian g, double std) {
        double[] h = new double[t.size];
        for (int i = 0; i < h.length; i++) h[i] = std * g.next();
        be.copyFromHost(h, t);
    }

    /** Box-Muller over SplittableRandom: fast, seeded, identical on every JVM. */
    static final class Gaussian {
        private final SplittableRandom r;
        private double spare;
        private boolean hasSpare;

        Gaussian(long seed) { r = new SplittableRandom(seed); }

        double next() {
            if (hasSpare) { hasSpare = false; return spare; }
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
            double rad = Math.sqrt(-2.0 * Math.log(u1)), a = 2 * Math.PI * u2;
            spare = rad * Math.sin(a);
            hasSpare = true;
            return rad * Math.cos(a);
        }
    }
}
