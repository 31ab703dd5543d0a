package io.lowrank.worker.tensor;

import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.InferenceModel;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Generation's model path (prefill, KV cache, decode) through the backend seam only: on a backend
 * whose tensors have no host memory it gives bit for bit the CPU backend's logits, so a device
 * backend that implements the seam runs it unchanged.
 */
class HostlessInferenceTest {
    @ParameterizedTest
    @EnumSource(LayerType.class)
    void prefillAndDecodeNeedNoHostReads(LayerType t) {
        ModelConfig c = new ModelConfig(37, 12, 20, 3, 2, 1e-6, 10000.0, 16, t, t == LayerType.FULL ? 0 : 4, false, 0.02);
        float[][] cpu = run(new Nd4jCpuBackend(DType.F32, 1), c);
        float[][] hostless = run(new HostlessBackend(new Nd4jCpuBackend(DType.F32, 1)), c);
        for (int i = 0; i < cpu.length; i++) assertArrayEquals(cpu[i], hostless[i], t + " step " + i);
    }

    private static float[][] run(Backend be, ModelConfig c) {
        try (be) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c), false);
            Initializer.initialize(ps, c, 3);
            InferenceModel m = new InferenceModel(be, c, ps, 2, 4, 8, true);
            float[][] out = new float[5][];
            out[0] = be.toHostFloats(m.prefill(new int[]{1, 5, 9, 2, 3, 3, 7, 30}));
            for (int s = 1; s < out.length; s++) out[s] = be.toHostFloats(m.decode(new int[]{s, 36 - s}));
            return out;
        }
    }
}
