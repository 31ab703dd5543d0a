package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An independent oracle: the same computations written as ND4J SameDiff graphs in float64 and
 * differentiated by SameDiff's autodiff. Nothing of ours is used to compute the reference: the graph is
 * built from the equations of methods.md (section 1 and 3) with SameDiff ops only (mmul, sigmoid,
 * rsqrt, slice/concat, softmax, exp/log); our code only supplies the random inputs.
 */
class SameDiffOracleTest {

    private static final double LOSS_BOUND = 1e-10, GRAD_BOUND = 1e-8;

    private static INDArray nd(Tensor t) {
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = t.dim(i);
        return Nd4j.create(t.toDoubleArray(), shape, DataType.DOUBLE);
    }

    private static INDArray nd(double[] data, long... shape) {
        return Nd4j.create(data, shape, DataType.DOUBLE);
    }

    private static double[] flat(INDArray a) {
        assertEquals(DataType.DOUBLE, a.dataType(), "SameDiff must compute in float64");
        return a.dup('c').data().asDouble();
    }

    private static double compare(String what, double[] ours, INDArray oracle, double bound) {
        double[] ref = flat(oracle);
        assertEquals(ref.length, ours.length, what + ": size");
        double err = GradCheck.relErr(ours, ref);
        System.out.printf("[samediff] %-55s rel err %.3e (bound %.0e)%n", what, err, bound);
        assertTrue(GradCheck.norm(ref) > 1e-8, what + ": oracle value is (nearly) zero, the check would be vacuous");
        assertTrue(err < bound, what + ": relative error " + err + " >= " + bound);
        return err;
    }

    private static void fillRandom(Tensor t, SplittableRandom r, double std) {
        for (int i = 0; i < t.size; i++) t.set(i, std * GradCheck.gaussian(r));
    }

    private static SDVariable silu(SameDiff sd, SDVariable h) {
        return h.mul(sd.nn().sigmoid(h));
    }

    // ------------------------------------------------------------------ (1) one CoLA projection

    @Test
    void colaProjectionMatchesSameDiff() {
        int rows = 9, in = 11, rank = 5, out = 7;
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            LinkedHashMap<String, int[]> layout = new LinkedHashMap<>();
            layout.put("p.cola_a", new int[]{in, rank});
            layout.put("p.cola_b", new int[]{rank, out});
            ParameterStore store = new ParameterStore(be, layout);
            SplittableRandom r = new SplittableRandom(31);
            fillRandom(store.values(), r, 0.5);
            fillRandom(store.grads(), r, 1.0);                 // parameter gradients accumulate onto this
            double[] grads0 = store.grads().toDoubleArray();
            ParameterStore.Param a = store.get("p.cola_a"), b = store.get("p.cola_b");
            ColaProjection proj = new ColaProjection(be, a, b, rows, "p", new ActivationPlan(be, false), be.allocate(rows, rank));

            Tensor x = be.allocate(rows, in), y = be.allocate(rows, out), dy = be.allocate(rows, out);
            fillRandom(x, r, 1.0);
            fillRandom(dy, r, 1.0);                              // R: loss = sum(y * R)
            Tensor dx = be.allocate(rows, in), dxAcc = be.allocate(rows, in);
            fillRandom(dx, r, 1.0);                              // overwritten
            fillRandom(dxAcc, r, 1.0);                           // accumulated onto
            double[] dxAcc0 = dxAcc.toDoubleArray();

            proj.forward(x, y);
            proj.backward(x, dy, dx, false);
            double[] gA = minus(a.grad.toDoubleArray(), grads0, a.offset);
            double[] gB = minus(b.grad.toDoubleArray(), grads0, b.offset);
            proj.backward(x, dy, dxAcc, true);

            SameDiff sd = SameDiff.create();
            SDVariable sx = sd.var("x", nd(x)), sa = sd.var("A", nd(a.value)), sb = sd.var("B", nd(b.value));
            SDVariable sR = sd.constant("R", nd(dy));
            SDVariable h = sx.mmul(sa);
            SDVariable sy = silu(sd, h).mmul(sb);
            sy.rename("y");
            SDVariable loss = sy.mul(sR).sum();
            loss.rename("loss");
            sd.setLossVariables(loss);
            INDArray yRef = sd.output(Collections.emptyMap(), "y").get("y");
            Map<String, INDArray> g = sd.calculateGradients(Collections.emptyMap(), "x", "A", "B");

            compare("cola forward y", y.toDoubleArray(), yRef, LOSS_BOUND);
            compare("cola dx", dx.toDoubleArray(), g.get("x"), GRAD_BOUND);
            compare("cola dA (accumulated)", gA, g.get("A"), GRAD_BOUND);
            compare("cola dB (accumulated)", gB, g.get("B"), GRAD_BOUND);
            double[] acc = dxAcc.toDoubleArray();
            for (int i = 0; i < acc.length; i++) acc[i] -= dxAcc0[i];
            compare("cola dx (accumulateDx=true)", acc, g.get("x"), GRAD_BOUND);
        }
    }

    private static double[] minus(double[] now, double[] allBefore, int offset) {
        double[] out = now.clone();
        for (int i = 0; i < out.length; i++) out[i] -= allBefore[offset + i];
        return out;
    }

    // ------------------------------------------------------------------ (2) a 1-layer LLaMA, loss and every gradient

    @ParameterizedTest
    @CsvSource({"full,false", "cola,false", "cola,true"})
    void oneLayerModelMatchesSameDiff(String type, boolean onlyLrAct) {
        ModelConfig c = new ModelConfig(23, 12, 20, 1, 3, 1e-6, 10000.0, 16,
                LayerType.parse(type), type.equals("full") ? 0 : 5, onlyLrAct, 0.02);
        int batch = 2, seq = 5, rows = batch * seq;
        try (Backend be = new Nd4jCpuBackend(DType.F64, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            SplittableRandom r = new SplittableRandom(32);
            ModelGradientCheckTest.randomize(ps, r);
            LlamaModel m = new LlamaModel(be, c, ps, batch, seq);
            int[] in = new int[rows], tg = new int[rows];
            for (int i = 0; i < rows; i++) { in[i] = r.nextInt(c.vocabSize); tg[i] = r.nextInt(c.vocabSize); }
            in[7] = in[2];                                   // a repeated token id
            tg[6] = LlamaModel.IGNORE_INDEX;                 // an ignored target

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
            SDVariable sLoss = oracleLoss(sd, c, v, in, tg, batch, seq);
            sd.setLossVariables(sLoss);
            double lossRef = sd.output(Collections.emptyMap(), sLoss.name()).get(sLoss.name()).getDouble(0);
            Map<String, INDArray> g = sd.calculateGradients(Collections.emptyMap(), new ArrayList<>(varName.values()));

            double lossErr = Math.abs(loss - lossRef) / Math.abs(lossRef);
            System.out.printf("[samediff] %-55s rel err %.3e (bound %.0e)%n", c.layerType.id + " onlyLrAct=" + onlyLrAct + " loss " + loss, lossErr, LOSS_BOUND);
            assertTrue(lossErr < LOSS_BOUND, "loss " + loss + " vs SameDiff " + lossRef);
            double worst = 0;
            for (ParameterStore.Param p : ps.params()) {
                worst = Math.max(worst, compare(type + "/" + onlyLrAct + " d " + p.name, p.grad.toDoubleArray(), g.get(varName.get(p.name)), GRAD_BOUND));
            }
            System.out.printf("[samediff] %s onlyLrAct=%s: worst parameter gradient rel err %.3e over %d tensors%n", type, onlyLrAct, worst, ps.params().size());
        }
    }

    /** The mean next-token cross-entropy of a LLaMA decoder (methods.md section 1), all in SameDiff ops. */
    private static SDVariable oracleLoss(SameDiff sd, ModelConfig c, Map<String, SDVariable> v, int[] in, int[] tg, int batch, int seq) {
        int rows = batch * seq, d = c.hiddenSize, heads = c.numHeads, hd = c.headDim(), half = hd / 2;
        // rope constants, Hugging Face form: x * cos + rotate_half(x) * sin, cos = cat(freqs, freqs) per head
        double[] cos = new double[rows * d], sin = new double[rows * d];
        for (int row = 0; row < rows; row++) {
            int t = row % seq;
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < hd; j++) {
                    int i = j % half;
                    double angle = t / Math.pow(c.ropeTheta, 2.0 * i / hd);
                    cos[row * d + h * hd + j] = Math.cos(angle);
                    sin[row * d + h * hd + j] = Math.sin(angle);
                }
            }
        }
        SDVariable ropeCos = sd.constant("rope_cos", nd(cos, rows, d)), ropeSin = sd.constant("rope_sin", nd(sin, rows, d));
        double[] mask = new double[seq * seq];
        for (int i = 0; i < seq; i++) for (int j = i + 1; j < seq; j++) mask[i * seq + j] = -1e9;
        SDVariable causal = sd.constant("causal_mask", nd(mask, seq, seq));

        // embedding as one-hot(ids) x E: sd.gather's gradient (a while loop over "sliceputs") fails in
        // 1.0.0-M2.1 inside this graph ("assign ... shapes mismatch [] vs [d]"); the product is exact.
        double[] inOneHot = new double[rows * c.vocabSize];
        for (int i = 0; i < rows; i++) inOneHot[i * c.vocabSize + in[i]] = 1.0;
        SDVariable x = sd.constant("input_one_hot", nd(inOneHot, rows, c.vocabSize)).mmul(v.get("model.embed_tokens.weight"));
        for (int l = 0; l < c.numLayers; l++) {
            String p = ModelLayout.layerPrefix(l);
            SDVariable n1 = rmsNorm(sd, x, v.get(p + "input_layernorm.weight"), c.rmsNormEps);
            SDVariable q = rope(sd, linear(sd, c, v, l, "q_proj", n1), ropeCos, ropeSin, rows, heads, hd);
            SDVariable k = rope(sd, linear(sd, c, v, l, "k_proj", n1), ropeCos, ropeSin, rows, heads, hd);
            SDVariable val = linear(sd, c, v, l, "v_proj", n1);
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
            SDVariable hres = x.add(linear(sd, c, v, l, "o_proj", attn));
            SDVariable n2 = rmsNorm(sd, hres, v.get(p + "post_attention_layernorm.weight"), c.rmsNormEps);
            SDVariable gate = linear(sd, c, v, l, "gate_proj", n2), up = linear(sd, c, v, l, "up_proj", n2);
            boolean siluOnGate = c.layerType == LayerType.FULL || !c.onlyLrAct;
            SDVariable act = (siluOnGate ? silu(sd, gate) : gate).mul(up);
            x = hres.add(linear(sd, c, v, l, "down_proj", act));
        }
        SDVariable nf = rmsNorm(sd, x, v.get("model.norm.weight"), c.rmsNormEps);
        SDVariable logits = sd.mmul(nf, v.get("lm_head.weight"), false, true, false);      // [rows, vocab]
        double[] oneHot = new double[rows * c.vocabSize];
        int count = 0;
        for (int i = 0; i < rows; i++) {
            if (tg[i] == LlamaModel.IGNORE_INDEX) continue;
            oneHot[i * c.vocabSize + tg[i]] = 1.0;
            count++;
        }
        SDVariable targets = sd.constant("targets", nd(oneHot, rows, c.vocabSize));
        // log-softmax by hand: sd.nn().logSoftmax(x, dim) fails in 1.0.0-M2.1 when SameDiff clones the graph
        // for the gradient ("Error setting property ... LogSoftMax: NoSuchMethodException Integer.values()").
        // Logits here are O(1), so exp needs no max shift.
        SDVariable logSumExp = sd.math().log(sd.math().exp(logits).sum(true, 1));             // [rows, 1]
        return logits.sub(logSumExp).mul(targets).sum().mul(-1.0 / count);
    }

    /** x * rsqrt(mean(x^2) + eps) * w, per row. */
    static SDVariable rmsNorm(SameDiff sd, SDVariable x, SDVariable w, double eps) {
        SDVariable inv = sd.math().rsqrt(x.mul(x).mean(true, 1).add(eps));                 // [rows, 1]
        return x.mul(inv).mul(w);                                                           // w [d] broadcast over rows
    }

    /** rope(x) = x * cos + rotate_half(x) * sin, rotate_half = (-x2, x1) inside each head. */
    static SDVariable rope(SameDiff sd, SDVariable x, SDVariable cos, SDVariable sin, int rows, int heads, int hd) {
        int half = hd / 2;
        SDVariable[] parts = new SDVariable[2 * heads];
        for (int h = 0; h < heads; h++) {
            parts[2 * h] = sd.slice(x, new int[]{0, h * hd + half}, rows, half).neg();
            parts[2 * h + 1] = sd.slice(x, new int[]{0, h * hd}, rows, half);
        }
        return x.mul(cos).add(sd.concat(1, parts).mul(sin));
    }

    /** Full: x W^T with W [out, in]. CoLA: SiLU(x A) B with A [in, r], B [r, out]. */
    private static SDVariable linear(SameDiff sd, ModelConfig c, Map<String, SDVariable> v, int layer, String proj, SDVariable x) {
        String name = ModelLayout.projectionName(layer, proj);
        if (c.layerType == LayerType.FULL) return sd.mmul(x, v.get(name + ".weight"), false, true, false);
        return silu(sd, x.mmul(v.get(name + ".cola_a"))).mmul(v.get(name + ".cola_b"));
    }
}
