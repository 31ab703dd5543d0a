package io.lowrank.worker.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (argmax, lowest id on ties), or a draw from
 * softmax(logits / temperature) restricted to the top-k ids and then to the smallest set of the
 * most likely ids whose probability reaches top-p (nucleus), renormalised. The draws come from one
 * seeded {@link SplittableRandom}: the same seed, model and prompt give the same tokens. Buffers
 * are allocated once per vocabulary size; a call allocates nothing.
 */
public final class Sampler {
    /** Sampling settings; temperature 0 or greedy means argmax. topK 0 and topP 1 switch those filters off. */
    public record Options(boolean greedy, double temperature, int topK, double topP, long seed) {
        public Options {
            if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("--temperature must be a finite number >= 0, got " + temperature);
            if (topK < 0) throw new IllegalArgumentException("--top-k must be >= 0 (0: off), got " + topK);
            if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("--top-p must lie in (0, 1] (1: off), got " + topP);
        }

        public static Options greedyDecoding() { return new Options(true, 1.0, 0, 1.0, 0); }

        boolean isGreedy() { return greedy || temperature == 0; }
    }

    private final Options o;
    private final int vocab;
    private final SplittableRandom random;
    private final double[] x;       // logits / temperature
    private final long[] order;     // descending by x: (sortable key << 32) | id
    private final double[] p;       // probabilities in that order

    public Sampler(Options options, int vocab) {
        this.o = options;
        this.vocab = vocab;
        this.random = new SplittableRandom(options.seed());
        this.x = new double[vocab];
        this.order = new long[vocab];
        this.p = new double[vocab];
        if (o.topK() > vocab) throw new IllegalArgumentException("--top-k " + o.topK() + " exceeds the vocabulary of " + vocab);
    }

    /**
     * The next token from row {@code row} of host logits [rows, vocab] (the backend's
     * {@code toHostFloats} of the model's logits: one transfer per step for a device backend).
     */
    public int next(float[] logits, int row) {
        int base = row * vocab;
        if (o.isGreedy()) {
            int best = 0;
            double bestValue = logits[base];
            for (int i = 1; i < vocab; i++) {
                double v = logits[base + i];
                if (v > bestValue) { bestValue = v; best = i; }
            }
            return best;
        }
        for (int i = 0; i < vocab; i++) x[i] = logits[base + i] / o.temperature();
        int kept;
        if (o.topK() > 0 || o.topP() < 1) {
            for (int i = 0; i < vocab; i++) order[i] = ((long) descendingKey((float) x[i]) << 32) | i;
            Arrays.sort(order);
            kept = o.topK() > 0 ? o.topK() : vocab;
        } else {
            for (int i = 0; i < vocab; i++) order[i] = i;   // no filter: any order will do
            kept = vocab;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < kept; j++) max = Math.max(max, x[id(j)]);
        double sum = 0;
        for (int j = 0; j < kept; j++) { p[j] = Math.exp(x[id(j)] - max); sum += p[j]; }
        if (o.topP() < 1) {                                   // smallest prefix of the sorted ids reaching topP
            double cumulative = 0;
            for (int j = 0; j < kept; j++) {
                cumulative += p[j] / sum;
                if (cumulative >= o.topP()) { kept = j + 1; break; }
            }
            sum = 0;
            for (int j = 0; j < kept; j++) sum += p[j];
        }
        double u = random.nextDouble() * sum;
        for (int j = 0; j < kept; j++) {
            u -= p[j];
            if (u < 0) return id(j);
        }
        return id(kept - 1);                                  // u landed on the rounding at the end
    }

    private int id(int j) { return (int) (order[j] & 0xFFFF_FFFFL); }

    /** An int that orders floats descending when compared as signed ints. */
    static int descendingKey(float f) {
        int bits = Float.floatToIntBits(f);
        int ascending = bits ^ ((bits >> 31) & 0x7FFF_FFFF);   // signed-int order == float order
        return ~ascending;                                     // ~ reverses signed-int order
    }
}
