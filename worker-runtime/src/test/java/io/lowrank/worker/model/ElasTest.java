package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ELAS (methods.md section 6) end to end.
 * <ul>
 *   <li>With 2:4 sparsity on, the loss has no usable finite-difference gradient (the mask is piecewise
 *       constant and the backward is straight-through by definition). The oracle is therefore a
 *       SameDiff float64 graph of the model in which, per layer, the 2:4 mask is computed here, by
 *       sorting each group of 4 of the graph's own y2, and enters as a constant
 *       {@code C = y2 * (1 - mask)}: {@code y2s = y2 - C} has the masked value in forward and the
 *       identity gradient dy2s/dy2 = 1 (straight-through) in backward; dy1 = 2 ReLU(y1) dy2 is
 *       SameDiff's own derivative of relu(y1)^2. Sparsity off is the same graph with no mask (and
 *       the float64 finite-difference check in {@link ModelGradientCheckTest}).</li>
 *   <li>The switch: the mode of a step is the one its forward ran in.</li>
 *   <li>float32 agrees with float64; a training step allocates nothing.</li>
 *   <li>Activation memory of the MLP against a dense-y2 implementation and CoLA.</li>
 * </ul>
 */
class ElasTest {

    private static final double LOSS_BOUND = 1e-10, GRAD_BOUND = 1e-8;

    /** ff = 22: five groups of 4 and a dense tail of 2. */
    private static ModelConfig tiny() {
        return new ModelConfig(23, 12, 22, 2, 3, 1e-6, 10000.0, 16, LayerType.ELAS, 5, false, 0.02);
    }

    // ------------------------------------------------------------------ SameDiff oracle, sparsity on and off

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void lossAndEveryGradientMatchTheStraightThroughOracle(boolean sparse) {
        ModelConfig c = tiny();
        int batch = 2, seq = 5, rows = batch * seq;
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(44);
            ModelGradientCheckTest.randomize(ps, r);
            LlamaModel m = new LlamaModel(be, c, ps, batch, seq);
            int[] in = new int[rows], tg = new int[rows];
            for (int i = 0; i < rows; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            tg[4] = LlamaModel.IGNORE_INDEX;

            m.switches().setSparseActivations(sparse);
            be.fill(ps.grads(), 0.0);
            double loss = m.forwardMean(in, tg, 1.0);
            m.backward();

            SameDiff sd = SameDiff.create();
            Map<String, String> varName = new HashMap<>();
            Map<String, SDVariable> v = new HashMap<>();
            for (ParameterStore.Param p : ps.params()) {
                String n = p.name.replace('.', '_');
                varName.put(p.name, n);
                v.put(p.name, sd.var(n, nd(p.value)));
            }
            int[] pruned = new int[1];
            SDVariable sLoss = oracleLoss(sd, c, v, in, tg, batch, seq, sparse, pruned);
            sd.setLossVariables(sLoss);
            double lossRef = sd.output(Collections.emptyMap(), sLoss.name()).get(sLoss.name()).getDouble(0);
            Map<String, INDArray> g = sd.calculateGradients(Collections.emptyMap(), new ArrayList<>(varName.values()));

            double lossErr = Math.abs(loss - lossRef) / Math.abs(lossRef);
            System.out.printf("[elas] sparse=%s loss %.12f vs oracle %.12f: rel err %.3e (bound %.0e); %d non-zero y2 entries pruned%n",
                    sparse, loss, lossRef, lossErr, LOSS_BOUND, pruned[0]);
            assertTrue(lossErr < LOSS_BOUND, "loss " + loss + " vs oracle " + lossRef);
            if (sparse) assertTrue(pruned[0] > 20, "the 2:4 mask must drop non-zero activations for the test to mean anything");
            double worst = 0;
            for (ParameterStore.Param p : ps.params()) {
                double[] ref = g.get(varName.get(p.name)).dup('c').data().asDouble();
                double err = GradCheck.relErr(p.grad.toDoubleArray(), ref);
                assertTrue(GradCheck.norm(ref) > 1e-8, p.name + ": oracle gradient is (nearly) zero");
                assertTrue(err < GRAD_BOUND, "sparse=" + sparse + " d " + p.name + ": relative error " + err);
                worst = Math.max(worst, err);
            }
            System.out.printf("[elas] sparse=%s: worst parameter gradient rel err %.3e over %d tensors (bound %.0e)%n",
                    sparse, worst, ps.params().size(), GRAD_BOUND);

            // the mask changes the loss: the sparse run is not secretly dense (and vice versa)
            m.switches().setSparseActivations(!sparse);
            double other = m.forwardMean(in, tg, 1.0);
            assertTrue(Math.abs(other - loss) > 1e-6 * Math.abs(loss), "sparse and dense losses coincide: " + loss);
        }
    }

    /** A step runs in the mode of its forward, even if the switch flips before its backward. */
    @Test
    void backwardFollowsTheModeOfItsForward() {
        ModelConfig c = tiny();
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(2);
            ModelGradientCheckTest.randomize(ps, r);
            LlamaModel m = new LlamaModel(be, c, ps, 2, 6);
            int[] in = new int[12], tg = new int[12];
            for (int i = 0; i < 12; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            m.switches().setSparseActivations(true);
            be.fill(ps.grads(), 0.0);
            m.forwardMean(in, tg, 1.0);
            m.backward();
            double[] straight = ps.grads().toDoubleArray();
            be.fill(ps.grads(), 0.0);
            m.forwardMean(in, tg, 1.0);
            m.switches().setSparseActivations(false);
            m.backward();
            assertEquals(0.0, GradCheck.relErr(ps.grads().toDoubleArray(), straight), 0.0);
        }
    }

    // ------------------------------------------------------------------ float32, steady state

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void float32AgreesWithFloat64AndAStepAllocatesNothing(boolean sparse) {
        ModelConfig c = new ModelConfig(101, 48, 83, 2, 4, 1e-6, 10000.0, 64, LayerType.ELAS, 8, false, 0.02);
        int batch = 3, seq = 23, rows = batch * seq;
        try (Backend f32 = new Nd4jCpuBackend(DType.F32, 2); Backend f64 = new Nd4jCpuBackend(DType.F64, 1)) {
            ParameterStore p32 = new ParameterStore(f32, ModelLayout.of(c)), p64 = new ParameterStore(f64, ModelLayout.of(c));
            ModelGradientCheckTest.randomize(p64, new SplittableRandom(6));
            p32.values().copyFrom(p64.values().toFloatArray());
            p64.values().copyFrom(p32.values().toDoubleArray());       // both hold the same float-representable weights
            SplittableRandom r = new SplittableRandom(7);
            int[] in = new int[rows], tg = new int[rows];
            for (int i = 0; i < rows; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            LlamaModel m32 = new LlamaModel(f32, c, p32, batch, seq), m64 = new LlamaModel(f64, c, p64, batch, seq);
            m32.switches().setSparseActivations(sparse);
            m64.switches().setSparseActivations(sparse);
            f32.fill(p32.grads(), 0.0);
            f64.fill(p64.grads(), 0.0);
            double l32 = m32.forwardMean(in, tg, 1.0), l64 = m64.forwardMean(in, tg, 1.0);
            m32.backward();
            m64.backward();
            double lossErr = Math.abs(l32 - l64) / l64, gradErr = GradCheck.relErr(p32.grads().toDoubleArray(), p64.grads().toDoubleArray());
            System.out.printf("[elas] sparse=%s f32 vs f64: loss rel err %.3e (bound 1e-5), gradient rel err %.3e (bound 1e-4)%n", sparse, lossErr, gradErr);
            assertTrue(lossErr < 1e-5, "loss f32 " + l32 + " vs f64 " + l64);
            assertTrue(gradErr < 1e-4, "gradients f32 vs f64: " + gradErr);

            long before = f32.memory().allocations();
            for (int s = 0; s < 2; s++) {
                f32.fill(p32.grads(), 0.0);
                m32.forwardMean(in, tg, 1.0);
                m32.backward();
            }
            assertEquals(before, f32.memory().allocations(), "a training step allocated backend memory");
        }
    }

    // ------------------------------------------------------------------ activation memory

    /**
     * Bytes the MLP of one layer holds for backward, at the 60M shape: ELAS keeps y1 and the up/down
     * bottlenecks; an implementation that kept y2 densely next to y1 would hold ff more per token;
     * CoLA's SwiGLU MLP (d_ff 1376) keeps gate, up, product and 3 x (h, z).
     */
    @Test
    void elasHoldsLessActivationMemory() {
        int d = 512, dff = 1376, ff = 2064, r = 128, layers = 8, heads = 8, vocab = 1000, batch = 2, seq = 64, rows = batch * seq;
        ModelConfig elas = new ModelConfig(vocab, d, ff, layers, heads, 1e-6, 10000.0, 256, LayerType.ELAS, r, false, 0.02);
        ModelConfig cola = new ModelConfig(vocab, d, dff, layers, heads, 1e-6, 10000.0, 256, LayerType.COLA, r, false, 0.02);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            long bytes = DType.F32.bytes;
            long elasMlp = mlpSavedBytes(be, elas, batch, seq), colaMlp = mlpSavedBytes(be, cola, batch, seq);
            assertEquals((long) rows * (ff + 2 * r) * bytes, elasMlp, "ELAS MLP: y1 [rows, ff] + 2 bottlenecks [rows, r]");
            long denseY2Mlp = elasMlp + (long) rows * ff * bytes;

            ParameterStore pe = new ParameterStore(be, ModelLayout.of(elas));
            LlamaModel me = new LlamaModel(be, elas, pe, batch, seq);
            me.switches().setSparseActivations(true);
            long modelElas = me.activationBytes(), modelDenseY2 = modelElas + layers * (denseY2Mlp - elasMlp);
            ParameterStore pc = new ParameterStore(be, ModelLayout.of(cola));
            long modelCola = new LlamaModel(be, cola, pc, batch, seq).activationBytes();

            System.out.printf("[elas] 60M shape, per layer MLP bytes/token: ELAS %d, ELAS with dense y2 %d, CoLA %d%n",
                    elasMlp / rows, denseY2Mlp / rows, colaMlp / rows);
            System.out.printf("[elas] MLP activation ratio: ELAS / dense-y2 ELAS %.3f, ELAS / CoLA %.3f%n",
                    elasMlp / (double) denseY2Mlp, elasMlp / (double) colaMlp);
            System.out.printf("[elas] whole model (batch %d x %d): ELAS %d, dense-y2 ELAS %d (ratio %.3f), CoLA %d (ratio %.3f)%n",
                    batch, seq, modelElas, modelDenseY2, modelElas / (double) modelDenseY2, modelCola, modelElas / (double) modelCola);
            assertTrue(elasMlp < denseY2Mlp);
            assertTrue(modelElas < modelDenseY2);
            assertTrue(elasMlp < colaMlp);
        }
    }

    /** Bytes one layer's MLP (its projections included) allocates through the activation plan. */
    private static long mlpSavedBytes(Backend be, ModelConfig c, int batch, int seq) {
        int rows = batch * seq;
        ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
        ActivationPlan plan = new ActivationPlan(be, false);
        Scratch s = new Scratch(be, c, rows, seq);
        if (c.layerType == LayerType.ELAS) {
            new ElasMlp(be, elasProjection(be, ps, "up_proj", rows, plan, s), elasProjection(be, ps, "down_proj", rows, plan, s),
                    rows, c.intermediateSize, plan, s, new ModelSwitches());
        } else {
            new SwiGluMlp(be, colaProjection(be, ps, "gate_proj", rows, plan, s, 0), colaProjection(be, ps, "up_proj", rows, plan, s, 1),
                    colaProjection(be, ps, "down_proj", rows, plan, s, 0), true, rows, c.intermediateSize, plan, s);
        }
        return plan.savedBytes();
    }

    private static Projection elasProjection(Backend be, ParameterStore ps, String proj, int rows, ActivationPlan plan, Scratch s) {
        String n = ModelLayout.projectionName(0, proj);
        return new ElasProjection(be, ps.get(n + ".w_in"), ps.get(n + ".w_out"), rows, proj, plan, s.dBottleneck);
    }

    /** member: place in the gate/up group (each member has its own dh scratch) */
    private static Projection colaProjection(Backend be, ParameterStore ps, String proj, int rows, ActivationPlan plan, Scratch s, int member) {
        String n = ModelLayout.projectionName(0, proj);
        return new ColaProjection(be, ps.get(n + ".cola_a"), ps.get(n + ".cola_b"), rows, proj, plan, s.dBottlenecks[member]);
    }

    // ------------------------------------------------------------------ the oracle graph

    private static INDArray nd(Tensor t) {
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = t.dim(i);
        return Nd4j.create(t.toDoubleArray(), shape, DataType.DOUBLE);
    }

    private static INDArray nd(double[] data, long... shape) {
        return Nd4j.create(data, shape, DataType.DOUBLE);
    }

    /** 2:4 mask of one row-major [rows, cols] matrix: sort each group of 4 by magnitude (desc), index (asc); tail kept. */
    private static double[] mask24(double[] x, int rows, int cols) {
        double[] keep = new double[x.length];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g + 4 <= cols; g += 4) {
                final int o = r * cols + g;
                Integer[] idx = {0, 1, 2, 3};
                Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -Math.abs(x[o + i])).thenComparingInt(i -> i));
                keep[o + idx[0]] = 1.0;
                keep[o + idx[1]] = 1.0;
            }
            for (int col = cols / 4 * 4; col < cols; col++) keep[r * cols + col] = 1.0;
        }
        return keep;
    }

    /** Mean next-token cross-entropy of the ELAS decoder in SameDiff ops; with sparse, per layer y2s = y2 - y2 * (1 - mask). */
    private static SDVariable oracleLoss(SameDiff sd, ModelConfig c, Map<String, SDVariable> v, int[] in, int[] tg, int batch, int seq,
                                         boolean sparse, int[] prunedNonZero) {
        int rows = batch * seq, d = c.hiddenSize, heads = c.numHeads, hd = c.headDim(), half = hd / 2, ff = c.intermediateSize;
        double[] cos = new double[rows * d], sin = new double[rows * d];
        for (int row = 0; row < rows; row++) {
            int t = row % seq;
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < hd; j++) {
                    double angle = t / Math.pow(c.ropeTheta, 2.0 * (j % half) / hd);
                    cos[row * d + h * hd + j] = Math.cos(angle);
                    sin[row * d + h * hd + j] = Math.sin(angle);
                }
            }
        }
        SDVariable ropeCos = sd.constant("rope_cos", nd(cos, rows, d)), ropeSin = sd.constant("rope_sin", nd(sin, rows, d));
        double[] causalMask = new double[seq * seq];
        for (int i = 0; i < seq; i++) for (int j = i + 1; j < seq; j++) causalMask[i * seq + j] = -1e9;
        SDVariable causal = sd.constant("causal_mask", nd(causalMask, seq, seq));

        double[] inOneHot = new double[rows * c.vocabSize];
        for (int i = 0; i < rows; i++) inOneHot[i * c.vocabSize + in[i]] = 1.0;
        SDVariable x = sd.constant("input_one_hot", nd(inOneHot, rows, c.vocabSize)).mmul(v.get("model.embed_tokens.weight"));
        for (int l = 0; l < c.numLayers; l++) {
            String p = ModelLayout.layerPrefix(l);
            SDVariable n1 = SameDiffOracleTest.rmsNorm(sd, x, v.get(p + "input_layernorm.weight"), c.rmsNormEps);
            SDVariable q = SameDiffOracleTest.rope(sd, linear(sd, v, l, "q_proj", n1), ropeCos, ropeSin, rows, heads, hd);
            SDVariable k = SameDiffOracleTest.rope(sd, linear(sd, v, l, "k_proj", n1), ropeCos, ropeSin, rows, heads, hd);
            SDVariable val = linear(sd, v, l, "v_proj", n1);
            List<SDVariable> batchRows = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                SDVariable[] headOut = new SDVariable[heads];
                for (int h = 0; h < heads; h++) {
                    int[] at = {b * seq, h * hd};
                    SDVariable qh = sd.slice(q, at, seq, hd), kh = sd.slice(k, at, seq, hd), vh = sd.slice(val, at, seq, hd);
                    SDVariable scores = sd.mmul(qh, kh, false, true, false).mul(1.0 / Math.sqrt(hd)).add(causal);
                    headOut[h] = sd.nn().softmax(scores, 1).mmul(vh);
                }
                batchRows.add(sd.concat(1, headOut));
            }
            SDVariable attn = sd.concat(0, batchRows.toArray(new SDVariable[0]));
            SDVariable hres = x.add(linear(sd, v, l, "o_proj", attn));
            SDVariable n2 = SameDiffOracleTest.rmsNorm(sd, hres, v.get(p + "post_attention_layernorm.weight"), c.rmsNormEps);
            SDVariable relu = sd.nn().relu(linear(sd, v, l, "up_proj", n2), 0.0);
            SDVariable y2 = relu.mul(relu);
            SDVariable y2s = y2;
            if (sparse) {
                // evaluate this layer's y2 (the graph so far), mask it here, and subtract the dropped part as a constant
                y2.rename("y2_" + l);
                double[] y2v = sd.output(Collections.emptyMap(), "y2_" + l).get("y2_" + l).dup('c').data().asDouble();
                double[] keep = mask24(y2v, rows, ff);
                double[] dropped = new double[y2v.length];
                for (int i = 0; i < y2v.length; i++) {
                    dropped[i] = y2v[i] * (1.0 - keep[i]);
                    if (dropped[i] != 0.0) prunedNonZero[0]++;
                }
                y2s = y2.sub(sd.constant("dropped_" + l, nd(dropped, rows, ff)));
            }
            x = hres.add(linear(sd, v, l, "down_proj", y2s));
        }
        SDVariable nf = SameDiffOracleTest.rmsNorm(sd, x, v.get("model.norm.weight"), c.rmsNormEps);
        SDVariable logits = sd.mmul(nf, v.get("lm_head.weight"), false, true, false);
        double[] oneHot = new double[rows * c.vocabSize];
        int count = 0;
        for (int i = 0; i < rows; i++) {
            if (tg[i] == LlamaModel.IGNORE_INDEX) continue;
            oneHot[i * c.vocabSize + tg[i]] = 1.0;
            count++;
        }
        SDVariable targets = sd.constant("targets", nd(oneHot, rows, c.vocabSize));
        SDVariable logSumExp = sd.math().log(sd.math().exp(logits).sum(true, 1));
        return logits.sub(logSumExp).mul(targets).sum().mul(-1.0 / count);
    }

    /** ELAS linear: (x W_in) W_out^T, W_in [in, r], W_out [out, r]. */
    private static SDVariable linear(SameDiff sd, Map<String, SDVariable> v, int layer, String proj, SDVariable x) {
        String name = ModelLayout.projectionName(layer, proj);
        return sd.mmul(x.mmul(v.get(name + ".w_in")), v.get(name + ".w_out"), false, true, false);
    }
}
