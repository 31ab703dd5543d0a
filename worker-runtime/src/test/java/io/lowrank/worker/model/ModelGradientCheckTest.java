package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-model gradient check in float64: every parameter tensor's analytic gradient against central
 * finite differences of the mean loss, on random weights with O(1) activations (the 0.02 init would
 * make most gradients tiny and the check weak).
 */
class ModelGradientCheckTest {

    @ParameterizedTest
    @CsvSource({"full,false", "cola,false", "cola,true", "cola-m,false", "cola-m,true", "crnet,false", "elas,false"})
    void everyParameterMatchesFiniteDifferences(String type, boolean onlyLrAct) {
        ModelConfig c = TinyConfigs.of(LayerType.parse(type), onlyLrAct);
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(42);
            randomize(ps, r);
            int batch = 2, seq = 7;
            LlamaModel m = new LlamaModel(be, c, ps, batch, seq);
            int[] in = new int[batch * seq], tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            tg[3] = LlamaModel.IGNORE_INDEX; // the ignore index must drop out of loss and gradient

            be.fill(ps.grads(), 0.0);
            m.forwardMean(in, tg, 1.0);
            m.backward();

            double eps = 1e-5;
            for (ParameterStore.Param p : ps.params()) {
                int n = p.value.size;
                int samples = Math.min(n, 25);
                double[] analytic = new double[samples], numeric = new double[samples];
                for (int s = 0; s < samples; s++) {
                    int i = samples == n ? s : r.nextInt(n);
                    double orig = p.value.get(i);
                    p.value.set(i, orig + eps);
                    double lp = m.forwardMean(in, tg, 1.0);
                    p.value.set(i, orig - eps);
                    double lm = m.forwardMean(in, tg, 1.0);
                    p.value.set(i, orig);
                    numeric[s] = (lp - lm) / (2 * eps);
                    analytic[s] = p.grad.get(i);
                }
                double err = GradCheck.relErr(analytic, numeric);
                assertTrue(err < 1e-6, p.name + ": relative error " + err);
                assertTrue(GradCheck.norm(numeric) > 1e-8, p.name + ": gradient is vanishing, the check would be vacuous");
            }
        }
    }

    static void randomize(ParameterStore ps, SplittableRandom r) {
        for (ParameterStore.Param p : ps.params()) {
            Tensor t = p.value;
            boolean norm = p.name.endsWith("norm.weight");
            double std = p.name.contains("embed") ? 1.0 : p.name.contains("cola") ? 0.5 : 0.3;
            for (int i = 0; i < t.size; i++) t.set(i, norm ? 1.0 + 0.1 * GradCheck.gaussian(r) : std * GradCheck.gaussian(r));
        }
    }
}
