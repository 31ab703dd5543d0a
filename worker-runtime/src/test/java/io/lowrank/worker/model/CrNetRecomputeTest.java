package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CR-Net's recompute schedule (keep block inputs, x A products and y of the checkpoint layers;
 * rebuild the other y top-down by the exact inverse) gives the store-everything gradients up to
 * the rounding of the inverse. Each rebuild y_{l-1} = (y_l - P_l) / b_l turns an absolute error
 * delta in y_l into delta / |b_l|, so errors grow like the product of 1/|b| over the rebuilt chain
 * (at most L/8 layers long): harmless for |beta| ~ 1, ruinous for small |beta| over long chains
 * (measured: 9 layers, |beta| ~ 0.05, float32: relative gradient error ~1e6; float64 ~2e-6).
 */
class CrNetRecomputeTest {

    /**
     * Bounds: about eps_dtype x prod(1/|b|) over the longest rebuilt chain x a safety factor of ~1e3.
     * 9 layers (one checkpoint, the last; chain of 8) with |beta| in [0.5, 1.5]: prod <= 2^8.
     * 3 layers (chain of 2) with |beta| in [0.025, 0.075]: prod <= 1600.
     * 17 layers: two checkpoints (16 and 8), so layer 9 restores y_8 from its kept copy and the
     * longest rebuilt chain is again 8 layers.
     */
    @ParameterizedTest
    @CsvSource({"float64,9,1.0,1e-10", "float32,9,1.0,1e-3", "float64,3,0.05,1e-10", "float32,3,0.05,1e-2",
            "float64,17,1.0,1e-10", "float32,17,1.0,1e-3"})
    void recomputedGradientsEqualStoreEverything(String dtype, int layers, double betaScale, double bound) {
        ModelConfig c = new ModelConfig(61, 24, 40, layers, 3, 1e-6, 10000.0, 32, LayerType.CRNET, 6, false, 0.02);
        try (Backend be = new Nd4jCpuBackend(DType.parse(dtype), 2)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(11);
            ModelGradientCheckTest.randomize(ps, r);
            for (ParameterStore.Param p : ps.params()) {
                if (p.name.endsWith(".cr_beta")) {   // both signs, magnitude around betaScale
                    p.value.set(0, (r.nextBoolean() ? 1 : -1) * betaScale * (0.5 + r.nextDouble()));
                }
            }
            int batch = 2, seq = 11;
            int[] in = new int[batch * seq], tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(61); tg[i] = r.nextInt(61); }

            LlamaModel keep = new LlamaModel(be, c, ps, batch, seq, false);
            be.fill(ps.grads(), 0.0);
            double lossKeep = keep.forwardMean(in, tg, 1.0);
            keep.backward();
            double[] gKeep = ps.grads().toDoubleArray();

            LlamaModel rec = new LlamaModel(be, c, ps, batch, seq, true);
            be.fill(ps.grads(), 0.0);
            double lossRec = rec.forwardMean(in, tg, 1.0);
            rec.backward();
            double[] gRec = ps.grads().toDoubleArray();

            assertEquals(lossKeep, lossRec, 0.0, "the forward pass is the same computation");
            double err = GradCheck.relErr(gRec, gKeep);
            System.out.printf("CR-Net recompute vs store-everything, %s, %d layers, |beta|~%.2f: rel. error %.3g%n", dtype, layers, betaScale, err);
            assertTrue(err <= bound, dtype + " |beta|~" + betaScale + ": recomputed gradients differ by " + err);
            assertTrue(rec.activationBytes() < keep.activationBytes(),
                    "recompute holds " + rec.activationBytes() + " bytes, store-everything " + keep.activationBytes());
        }
    }

    /**
     * The memory schedule's point (methods.md section 5) against CoLA-M's on the same shapes (the
     * 60m preset's proportions: d_ff = 2.6875 d, r = d/4, 8 layers): CR-Net keeps x A and the block
     * input per layer where CoLA-M also keeps h, and its chain buffers cost less than one layer's h.
     * The recompute FLOPs the models count are checked against the products each schedule runs:
     * CoLA-M redoes z B for q, k, v, gate, up (o's and down's outputs are not read back: h is
     * saved) and attention in every layer; CR-Net redoes attention in every layer and one (x A) B per
     * projection but down (whose y_{l-1} comes from the residual stream) for every layer whose
     * predecessor is not a checkpoint, to rebuild y_{l-1}. Both must also be below.
     */
    @Test
    void crNetHoldsAndRecomputesLessThanColaM() {
        int d = 64, ff = 172, layers = 8, heads = 4, r = 16, batch = 2, seq = 16, rows = batch * seq;
        ModelConfig crnet = new ModelConfig(61, d, ff, layers, heads, 1e-6, 10000.0, 32, LayerType.CRNET, r, false, 0.02);
        ModelConfig colaM = new ModelConfig(61, d, ff, layers, heads, 1e-6, 10000.0, 32, LayerType.COLA_M, r, false, 0.02);
        try (Backend be = new Nd4jCpuBackend(DType.F64, 2)) {
            long[] bytes = new long[2], flops = new long[2];
            ModelConfig[] configs = {crnet, colaM};
            for (int i = 0; i < 2; i++) {
                ParameterStore ps = new ParameterStore(be, ModelLayout.of(configs[i]));
                SplittableRandom rnd = new SplittableRandom(5 + i);
                ModelGradientCheckTest.randomize(ps, rnd);
                int[] in = new int[rows], tg = new int[rows];
                for (int t = 0; t < rows; t++) { in[t] = rnd.nextInt(61); tg[t] = rnd.nextInt(61); }
                LlamaModel m = new LlamaModel(be, configs[i], ps, batch, seq);
                m.forwardMean(in, tg, 1.0);
                m.backward();
                bytes[i] = m.layerActivationBytes();
                flops[i] = m.recomputeFlops();
            }
            long attention = (long) layers * batch * heads * 2 * (2L * seq * seq * (d / heads));
            long colaMProducts = (long) layers * 2L * rows * r * (3L * d + 2L * ff);
            boolean[] checkpoint = CrossLayerState.checkpointLayers(layers);
            long rebuilds = 0;
            for (int l = 1; l < layers; l++) if (!checkpoint[l - 1]) rebuilds++;
            long crNetProducts = rebuilds * 2L * rows * r * (4L * d + 2L * ff);
            assertEquals(attention + colaMProducts, flops[1], "CoLA-M recompute FLOPs");
            assertEquals(attention + crNetProducts, flops[0], "CR-Net recompute FLOPs");
            System.out.printf("60m-shaped, 8 layers: layer activations CR-Net %d vs CoLA-M %d bytes (%.3fx); recompute FLOPs %d vs %d%n",
                    bytes[0], bytes[1], bytes[0] / (double) bytes[1], flops[0], flops[1]);
            assertTrue(bytes[0] < bytes[1], "CR-Net holds " + bytes[0] + " bytes for backward, CoLA-M " + bytes[1]);
            assertTrue(flops[0] < flops[1], "CR-Net recomputes " + flops[0] + " FLOPs, CoLA-M " + flops[1]);
        }
    }

    @Test
    void checkpointLayersAreTheLastAndNeverTheFirst() {
        assertArrayEquals(new boolean[]{false, true}, CrossLayerState.checkpointLayers(2));
        boolean[] c24 = CrossLayerState.checkpointLayers(24);
        int count = 0;
        for (boolean b : c24) if (b) count++;
        assertEquals(3, count);
        assertTrue(c24[23] && c24[15] && c24[7] && !c24[0]);
        boolean[] c8 = CrossLayerState.checkpointLayers(8);
        assertTrue(c8[7]);
    }
}
