package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The KV-cache decoder against the training forward: at every step of a greedy generation the
 * logits of the newest position equal those of {@link LlamaModel#forwardLogits} over the whole
 * sequence so far (to float rounding), and so does the chosen token.
 */
class InferenceModelTest {
    /** 3 layers (CR-Net's chain spans two links), 2 heads of 6, ff 20 (ELAS: 5 groups of 4), V 31, 24 positions. */
    static ModelConfig config(LayerType type, boolean onlyLrAct) {
        return new ModelConfig(31, 12, 20, 3, 2, 1e-6, 10000.0, 24, type, type == LayerType.FULL ? 0 : 5, onlyLrAct, 0.02);
    }

    @ParameterizedTest(name = "{0} only_lr_act={1} sparse={2} {3} batch {4}")
    @CsvSource({
            "full,false,false,float32,1,2e-6", "full,false,false,float64,2,1e-13",
            "cola,false,false,float32,2,2e-6", "cola,true,false,float64,1,1e-13",
            "cola-m,false,false,float32,1,2e-6",
            "crnet,false,false,float32,2,2e-6", "crnet,false,false,float64,1,1e-13",
            "elas,false,true,float32,2,2e-6", "elas,false,false,float32,1,2e-6", "elas,false,true,float64,1,1e-13"})
    void greedyDecodingEqualsTheTrainingForwardAtEveryStep(String layer, boolean onlyLrAct, boolean sparse, String dtype,
                                                           int batch, double bound) {
        ModelConfig c = config(LayerType.parse(layer), onlyLrAct);
        int prompt = 5, steps = 12;
        try (Backend be = new Nd4jCpuBackend(DType.parse(dtype), 2)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(layer.hashCode() + batch);
            ModelGradientCheckTest.randomize(ps, r);
            int total = prompt + steps;
            int[][] seq = new int[batch][total];
            int[] promptIds = new int[batch * prompt];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < prompt; t++) seq[b][t] = promptIds[b * prompt + t] = r.nextInt(c.vocabSize);
            }
            InferenceModel m = new InferenceModel(be, c, ps, batch, prompt, total, sparse);
            Tensor logits = m.prefill(promptIds);
            double worst = 0;
            long allocationsAfterFirstDecode = -1;
            int[] next = new int[batch];
            for (int len = prompt; ; len++) {
                LlamaModel ref = new LlamaModel(be, c, ps, 1, len);
                ref.switches().setSparseActivations(sparse);
                for (int b = 0; b < batch; b++) {
                    Tensor full = ref.forwardLogits(java.util.Arrays.copyOf(seq[b], len));
                    double[] want = row(full, len - 1, c.vocabSize), got = row(logits, b, c.vocabSize);
                    double err = relError(got, want);
                    worst = Math.max(worst, err);
                    assertTrue(err <= bound, layer + " step " + len + " sequence " + b + ": logits rel. error " + err + " > " + bound);
                    next[b] = argmax(want);
                    assertEquals(next[b], argmax(got), layer + " step " + len + " sequence " + b + ": greedy token");
                    seq[b][len] = next[b];
                }
                if (len + 1 == total) break;
                long before = be.memory().allocations();
                logits = m.decode(next);
                if (allocationsAfterFirstDecode >= 0) {
                    assertEquals(before, be.memory().allocations(), "a decode step allocated tensors");
                }
                allocationsAfterFirstDecode = be.memory().allocations();
            }
            assertEquals(total - 1, m.position());
            System.out.printf("kv-cache vs training forward, %s only_lr_act=%s sparse=%s %s batch %d: worst logits rel. error %.2e%n",
                    layer, onlyLrAct, sparse, dtype, batch, worst);
        }
    }

    @Test
    void aPromptLongerThanMaxPositionEmbeddingsIsAClearError() {
        ModelConfig c = config(LayerType.COLA, false);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new InferenceModel(be, c, ps, 1, 25, 25, false));
            assertTrue(e.getMessage().contains("25 tokens") && e.getMessage().contains("max_position_embeddings 24"), e.getMessage());
            InferenceModel m = new InferenceModel(be, c, ps, 1, 23, 24, false);
            m.prefill(new int[23]);
            m.decode(new int[1]);
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> m.decode(new int[1]));
            assertTrue(full.getMessage().contains("cache is full"), full.getMessage());
            IllegalArgumentException badId = assertThrows(IllegalArgumentException.class, () -> m.prefill(new int[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 31}));
            assertTrue(badId.getMessage().contains("token id 31"), badId.getMessage());
        }
    }

    static double[] row(Tensor t, int row, int vocab) {
        double[] out = new double[vocab];
        for (int i = 0; i < vocab; i++) out[i] = t.get(row * vocab + i);
        return out;
    }

    static int argmax(double[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    static double relError(double[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) { num += (got[i] - want[i]) * (got[i] - want[i]); den += want[i] * want[i]; }
        assertTrue(den > 0, "reference logits are zero: the comparison would be vacuous");
        return Math.sqrt(num / den);
    }
}
