package io.lowrank.worker.generate;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Draw frequencies against the distribution each setting defines, computed here in double from the
 * definitions (softmax(l / T); top-k: the k largest; top-p: the smallest most-likely prefix
 * reaching p), and reproducibility under a seed.
 */
class SamplerTest {
    static final double[] LOGITS = {1.0, 3.0, -0.5, 2.5, 0.0, 2.9, -2.0};   // order: 1, 5, 3, 0, 4, 2, 6

    static double[] expected(double t, int k, double p) {
        int n = LOGITS.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(LOGITS[b], LOGITS[a]));
        double[] w = new double[n];
        double sum = 0;
        int kept = k == 0 ? n : k;
        for (int j = 0; j < kept; j++) sum += Math.exp(LOGITS[order[j]] / t);
        double cum = 0;
        int keptP = kept;
        for (int j = 0; j < kept; j++) {
            cum += Math.exp(LOGITS[order[j]] / t) / sum;
            if (cum >= p) { keptP = j + 1; break; }
        }
        double s2 = 0;
        for (int j = 0; j < keptP; j++) s2 += Math.exp(LOGITS[order[j]] / t);
        for (int j = 0; j < keptP; j++) w[order[j]] = Math.exp(LOGITS[order[j]] / t) / s2;
        return w;
    }

    @Test
    void drawsFollowTheDistributionOfEachSetting() {
        {
            float[] logits = new float[2 * LOGITS.length];
            for (int i = 0; i < LOGITS.length; i++) { logits[i] = -9; logits[LOGITS.length + i] = (float) LOGITS[i]; }   // row 1 holds them
            double[][] settings = {{1.0, 0, 1.0}, {0.5, 0, 1.0}, {2.0, 3, 1.0}, {1.0, 0, 0.7}, {1.5, 4, 0.8}};
            int draws = 40_000;
            for (double[] s : settings) {
                double[] want = expected(s[0], (int) s[1], s[2]);
                Sampler sampler = new Sampler(new Sampler.Options(false, s[0], (int) s[1], s[2], 7), LOGITS.length);
                int[] counts = new int[LOGITS.length];
                for (int i = 0; i < draws; i++) counts[sampler.next(logits, 1)]++;
                for (int i = 0; i < LOGITS.length; i++) {
                    double f = counts[i] / (double) draws, sd = Math.sqrt(want[i] * (1 - want[i]) / draws);
                    if (want[i] == 0) assertEquals(0, counts[i], java.util.Arrays.toString(s) + ": id " + i + " is outside the kept set");
                    else assertTrue(Math.abs(f - want[i]) <= 5 * sd, java.util.Arrays.toString(s) + ": id " + i + " drawn " + f + ", expected " + want[i]);
                }
            }
        }
    }

    @Test
    void greedyAndTheSeedMakeDrawsReproducible() {
        {
            float[] logits = new float[LOGITS.length];
            for (int i = 0; i < LOGITS.length; i++) logits[i] = (float) LOGITS[i];
            assertEquals(1, new Sampler(Sampler.Options.greedyDecoding(), LOGITS.length).next(logits, 0));
            assertEquals(1, new Sampler(new Sampler.Options(false, 0.0, 0, 1.0, 3), LOGITS.length).next(logits, 0), "temperature 0 is argmax");
            assertEquals(1, new Sampler(new Sampler.Options(false, 1.0, 1, 1.0, 3), LOGITS.length).next(logits, 0), "top-k 1 is argmax");
            int[] a = new int[200], b = new int[200], c = new int[200];
            Sampler sa = new Sampler(new Sampler.Options(false, 1.3, 0, 0.95, 11), LOGITS.length);
            Sampler sb = new Sampler(new Sampler.Options(false, 1.3, 0, 0.95, 11), LOGITS.length);
            Sampler sc = new Sampler(new Sampler.Options(false, 1.3, 0, 0.95, 12), LOGITS.length);
            for (int i = 0; i < a.length; i++) { a[i] = sa.next(logits, 0); b[i] = sb.next(logits, 0); c[i] = sc.next(logits, 0); }
            assertArrayEquals(a, b);
            assertFalse(java.util.Arrays.equals(a, c), "another seed draws another sequence");
        }
    }

    @Test
    void badSettingsNameTheOption() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler.Options(false, -1, 0, 1, 0)).getMessage().contains("--temperature"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler.Options(false, 1, -2, 1, 0)).getMessage().contains("--top-k"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler.Options(false, 1, 0, 0, 0)).getMessage().contains("--top-p"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(new Sampler.Options(false, 1, 9, 1, 0), 7)).getMessage().contains("--top-k 9"));
    }
}
