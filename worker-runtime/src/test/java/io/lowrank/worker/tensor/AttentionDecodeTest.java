package io.lowrank.worker.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backend.attentionDecode against (a) a float64 loop written here from the definition and (b) the
 * last row of the training kernel {@link Backend#attention} over the same keys and values, on
 * fresh random inputs, with the cache's [position, batch, d] layout and unused rows beyond n.
 */
class AttentionDecodeTest {
    @ParameterizedTest(name = "{0} threads={1} gemm={2}")
    @CsvSource({"float32,2,native,1e-6", "float32,2,openblas,1e-6", "float32,1,auto,1e-6", "float64,2,auto,1e-13"})
    void decodeRowEqualsTheDefinitionAndTheTrainingKernel(String dtype, int threads, String gemm, double bound) {
        int batch = 2, heads = 3, hd = 6, d = heads * hd, cap = 11, n = 7;
        SplittableRandom r = new SplittableRandom(3);
        try (Backend be = new Nd4jCpuBackend(DType.parse(dtype), threads, true, Nd4jCpuBackend.GemmEngine.valueOf(gemm.toUpperCase()))) {
            Tensor q = be.allocate(batch, d), keys = be.allocate(cap * batch, d), values = be.allocate(cap * batch, d);
            Tensor scores = be.allocate(batch * heads, cap), out = be.allocate(batch, d);
            for (Tensor t : new Tensor[]{q, keys, values}) for (int i = 0; i < t.size; i++) t.set(i, r.nextDouble() * 2 - 1);
            be.attentionDecode(q, keys, values, batch, n, heads, scores, out);

            // (a) the definition in float64
            double[] want = new double[batch * d];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int t = 0; t < n; t++) {
                        for (int i = 0; i < hd; i++) s[t] += q.get(b * d + h * hd + i) * keys.get((t * batch + b) * d + h * hd + i);
                        s[t] /= Math.sqrt(hd);
                        max = Math.max(max, s[t]);
                    }
                    for (int t = 0; t < n; t++) { s[t] = Math.exp(s[t] - max); sum += s[t]; }
                    for (int t = 0; t < n; t++) {
                        for (int i = 0; i < hd; i++) want[b * d + h * hd + i] += s[t] / sum * values.get((t * batch + b) * d + h * hd + i);
                    }
                }
            }
            assertTrue(relError(out, want) <= bound, "vs definition: " + relError(out, want));

            // (b) the training kernel: sequences [batch * n, d] whose last query is q
            Tensor qs = be.allocate(batch * n, d), ks = be.allocate(batch * n, d), vs = be.allocate(batch * n, d);
            Tensor probs = be.allocate(batch, heads, n, n), full = be.allocate(batch * n, d);
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < n; t++) {
                    for (int i = 0; i < d; i++) {
                        qs.set((b * n + t) * d + i, t == n - 1 ? q.get(b * d + i) : r.nextDouble());
                        ks.set((b * n + t) * d + i, keys.get((t * batch + b) * d + i));
                        vs.set((b * n + t) * d + i, values.get((t * batch + b) * d + i));
                    }
                }
            }
            be.attention(qs, ks, vs, batch, n, heads, probs, full);
            double[] last = new double[batch * d];
            for (int b = 0; b < batch; b++) for (int i = 0; i < d; i++) last[b * d + i] = full.get((b * n + n - 1) * d + i);
            assertTrue(relError(out, last) <= bound, "vs training attention: " + relError(out, last));
        }
    }

    static double relError(Tensor got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) { num += (got.get(i) - want[i]) * (got.get(i) - want[i]); den += want[i] * want[i]; }
        assertTrue(den > 0);
        return Math.sqrt(num / den);
    }
}
