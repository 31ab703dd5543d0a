package io.lowrank.worker.tensor;

import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.optim.AdamW;
import io.lowrank.worker.optim.GradClip;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The seam a GPU backend needs: initialisation, training steps (forward, backward, clipping,
 * AdamW) and checkpoint save/load of every layer family, run on a backend whose tensors have no
 * host memory (HostlessBackend), give bit for bit the CPU backend's losses, parameters and
 * checkpoint. Any direct host read or write of a tensor value on these paths fails here.
 */
class HostlessSeamTest {

    private static final int BATCH = 2, SEQ = 9, VOCAB = 53;

    /** Losses of 3 steps; the final parameters and AdamW's first moment go to out[0], out[1]. */
    private static double[] train(Backend be, ModelConfig mc, ParameterStore ps, float[][] out, AdamW[] optOut) {
        Initializer.initialize(ps, mc, 7);
        LlamaModel model = new LlamaModel(be, mc, ps, BATCH, SEQ);
        AdamW opt = new AdamW(be, (int) ps.count(), 0.9, 0.95, 1e-8, 0.1);
        SplittableRandom r = new SplittableRandom(11);
        double[] losses = new double[3];
        for (int step = 0; step < losses.length; step++) {
            int[] in = new int[BATCH * SEQ], tg = new int[BATCH * SEQ];
            for (int i = 0; i < in.length; i++) { in[i] = r.nextInt(VOCAB); tg[i] = r.nextInt(VOCAB); }
            be.fill(ps.grads(), 0.0);
            losses[step] = model.forwardMean(in, tg, 1.0);
            model.backward();
            GradClip.clip(be, ps.grads(), 1.0);
            opt.step(ps.values(), ps.grads(), 3e-3);
        }
        out[0] = be.toHostFloats(ps.values());
        out[1] = be.toHostFloats(opt.firstMoment());
        optOut[0] = opt;
        return losses;
    }

    @ParameterizedTest
    @EnumSource(LayerType.class)
    void trainingAndCheckpointsUseOnlyTheBackend(LayerType type, @TempDir Path dir) throws Exception {
        ModelConfig mc = new ModelConfig(VOCAB, 32, 48, 2, 4, 1e-6, 10000.0, 16, type, 8, false, 0.02);
        float[][] cpuParams = new float[2][], hostlessParams = new float[2][];
        AdamW[] opt = new AdamW[1];
        double[] cpuLosses, hostlessLosses;
        try (Backend cpu = new Nd4jCpuBackend(DType.F32, 2)) {
            cpuLosses = train(cpu, mc, new ParameterStore(cpu, ModelLayout.of(mc)), cpuParams, opt);
        }
        try (HostlessBackend be = new HostlessBackend(new Nd4jCpuBackend(DType.F32, 2))) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(mc));
            assertThrows(NullPointerException.class, () -> ps.values().get(0), "the test backend's tensors have no host memory");
            hostlessLosses = train(be, mc, ps, hostlessParams, opt);
            assertArrayEquals(cpuLosses, hostlessLosses, type + " losses");
            assertArrayEquals(cpuParams[0], hostlessParams[0], type + " parameters after 3 steps");
            assertArrayEquals(cpuParams[1], hostlessParams[1], type + " AdamW moment after 3 steps");
            assertNotEquals(cpuLosses[0], cpuLosses[2], "training moved the loss");

            ModelCheckpoint.save(dir, mc, ps, opt[0], null);
            try (Backend cpu = new Nd4jCpuBackend(DType.F32, 1)) {
                ParameterStore back = new ParameterStore(cpu, ModelLayout.of(mc));
                ModelCheckpoint.loadWeights(dir, back);
                assertArrayEquals(hostlessParams[0], back.values().toFloatArray(), type + " checkpoint written through the seam");
            }
            be.fill(ps.values(), 0.0);
            be.fill(opt[0].firstMoment(), 0.0);
            ModelCheckpoint.loadWeights(dir, ps);
            ModelCheckpoint.loadOptimizer(dir, ps, opt[0]);
            assertArrayEquals(hostlessParams[0], be.toHostFloats(ps.values()), type + " checkpoint read through the seam");
            assertArrayEquals(hostlessParams[1], be.toHostFloats(opt[0].firstMoment()), type + " optimizer state read through the seam");
            assertEquals(hostlessParams[0][3], (float) be.valueAt(ps.values(), 3));
        }
    }
}
