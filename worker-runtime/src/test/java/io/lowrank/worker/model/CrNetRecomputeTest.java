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
     */
    @ParameterizedTest
    @CsvSource({"float64,9,1.0,1e-10", "float32,9,1.0,1e-3", "float64,3,0.05,1e-10", "float32,3,0.05,1e-2"})
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
