package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CoLA-M is CoLA's model with a recompute schedule: on the same weights and inputs its loss and
 * every gradient equal CoLA's (the recomputation replays the same float operations, so equality is
 * exact here), while it holds fewer activation bytes for the backward pass.
 */
class ColaMTest {

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void gradientsEqualColaAndActivationsShrink(boolean onlyLrAct) {
        ModelConfig cola = new ModelConfig(101, 48, 80, 3, 4, 1e-6, 10000.0, 32, LayerType.COLA, 8, onlyLrAct, 0.02);
        ModelConfig colaM = cola.withLayerType(LayerType.COLA_M, 8);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(cola));
            ModelGradientCheckTest.randomize(ps, new SplittableRandom(5));
            int batch = 3, seq = 17;
            SplittableRandom r = new SplittableRandom(9);
            int[] in = new int[batch * seq], tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(101); tg[i] = r.nextInt(101); }

            LlamaModel a = new LlamaModel(be, cola, ps, batch, seq);
            be.fill(ps.grads(), 0.0);
            double lossA = a.forwardMean(in, tg, 1.0);
            a.backward();
            float[] gradA = ps.grads().toFloatArray();

            LlamaModel m = new LlamaModel(be, colaM, ps, batch, seq);   // same parameters
            be.fill(ps.grads(), 0.0);
            double lossM = m.forwardMean(in, tg, 1.0);
            m.backward();
            float[] gradM = ps.grads().toFloatArray();

            assertEquals(lossA, lossM, 0.0);
            double num = 0, den = 0;
            for (int i = 0; i < gradA.length; i++) { num += (gradA[i] - gradM[i]) * (double) (gradA[i] - gradM[i]); den += gradA[i] * (double) gradA[i]; }
            assertTrue(den > 0);
            assertEquals(0.0, Math.sqrt(num / den), 1e-7, "CoLA-M gradients differ from CoLA's");
            assertTrue(m.activationBytes() < a.activationBytes(),
                    "CoLA-M holds " + m.activationBytes() + " bytes, CoLA " + a.activationBytes());
        }
    }
}
