package io.lowrank.spark.compare;

import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.train.Batches;

import java.util.SplittableRandom;

/**
 * What one training token costs a family, counted rather than estimated: the model is built on the
 * driver at the run's micro-batch and one forward + backward runs while the backend counts the
 * multiply-adds of every product it performs ({@link Backend#gemmFlops}: projections, attention,
 * LM head, and the recomputation of CoLA-M and CR-Net). ELAS is counted with dense activations (its
 * dense-warmup state): the backend does not count the 2:4 products of the sparse state, so its
 * steady-state figure is somewhat lower than this one.
 */
public record FamilyCost(long parameters, long nonEmbeddingParameters, double flopsPerToken, long recomputeFlopsPerToken,
                         long activationBytes) {

    public static FamilyCost measure(ModelConfig mc, int batch, int seqLen, int threads) {
        try (Backend be = new Nd4jCpuBackend(DType.F32, threads)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(mc));
            Initializer.initialize(ps, mc, 1);
            LlamaModel model = new LlamaModel(be, mc, ps, batch, seqLen);
            model.switches().setSparseActivations(false);
            SplittableRandom r = new SplittableRandom(1);
            int[] windows = new int[batch * (seqLen + 1)], in = new int[batch * seqLen], tg = new int[batch * seqLen];
            for (int i = 0; i < windows.length; i++) windows[i] = r.nextInt(mc.vocabSize);
            Batches.split(windows, batch, seqLen, in, tg);
            long before = be.gemmFlops();
            model.forwardMean(in, tg, 1.0);
            model.backward();
            long tokens = (long) batch * seqLen;
            double perToken = (be.gemmFlops() - before) / (double) tokens;
            // embedding table and the untied LM head: V x d each
            long embedding = 2L * mc.vocabSize * mc.hiddenSize;
            return new FamilyCost(ps.count(), ps.count() - embedding, perToken, model.recomputeFlops() / tokens, model.activationBytes());
        }
    }
}
