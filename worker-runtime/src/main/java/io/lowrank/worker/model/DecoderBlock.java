package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * One pre-norm LLaMA block (methods.md section 1):
 * <pre>
 *   h   = x + o( Attn( rope(q(n1)), rope(k(n1)), v(n1) ) ),   n1 = RMSNorm(x)
 *   out = h + MLP(n2),                                         n2 = RMSNorm(h)
 * </pre>
 * Every tensor the backward pass reads is a field allocated once. Which of them are saved per layer
 * and which are recomputed in backward is the {@link ActivationPlan}'s choice: under CoLA-M's
 * schedule only the residual stream (x, h) and the projections' rank-r activations are saved.
 */
final class DecoderBlock {
    /** Plan name of the v output (CR-Net's v chain lives in it). */
    static final String V_BUFFER = "v";

    private final Backend be;
    private final ModelConfig c;
    private final int batch, seqLen;
    private final Scratch s;
    private final ActivationPlan plan;
    private final ParameterStore.Param norm1, norm2;
    private final Projection o;
    private final SharedInputGroup qkv;         // q, k, v read n1: grouped products where the family allows
    private final Tensor[] qkvOut, dqkv;
    private final Mlp mlp;
    private final Tensor ropeCos, ropeSin;
    private final CrossLayerState chain;   // CR-Net: previous layer's projection outputs and carried gradients
    private final int layer;

    private final Tensor x;            // block input: a view of the model's residual stream (saved)
    private final Tensor h;            // x + attention branch (saved; CR-Net's schedule recomputes it from y_o)
    private final boolean hRecomputed;
    private final Tensor n1, inv1, qa, ka, va, probs, attn, n2, inv2;   // recomputable

    DecoderBlock(Backend be, ModelConfig c, ParameterStore params, int layer, int batch, int seqLen,
                 Tensor input, Tensor ropeCos, Tensor ropeSin, Scratch s, ActivationPlan plan, CrossLayerState chain,
                 ModelSwitches switches) {
        this.be = be;
        this.c = c;
        this.batch = batch;
        this.seqLen = seqLen;
        this.s = s;
        this.plan = plan;
        this.x = input;
        this.ropeCos = ropeCos;
        this.ropeSin = ropeSin;
        this.chain = chain;
        this.layer = layer;
        if (plan.isForwardOnly()) plan.startLayer();
        int rows = batch * seqLen, d = c.hiddenSize;
        String p = ModelLayout.layerPrefix(layer);
        norm1 = params.get(p + "input_layernorm.weight");
        norm2 = params.get(p + "post_attention_layernorm.weight");
        Projection q = projection(params, layer, "q_proj", rows, 0);
        Projection k = projection(params, layer, "k_proj", rows, 1);
        Projection v = projection(params, layer, "v_proj", rows, 2);
        o = projection(params, layer, "o_proj", rows, 0);
        qkv = new SharedInputGroup(be, q, k, v);
        if (c.layerType == LayerType.ELAS) {
            mlp = new ElasMlp(be, projection(params, layer, "up_proj", rows, 0), projection(params, layer, "down_proj", rows, 0),
                    rows, c.intermediateSize, plan, s, switches);
        } else {
            // CoLA's only_lr_act drops the SiLU on the gate; full-rank LLaMA and CR-Net always have it.
            boolean siluOnGate = !c.layerType.colaParameters() || !c.onlyLrAct;
            mlp = new SwiGluMlp(be, projection(params, layer, "gate_proj", rows, 0), projection(params, layer, "up_proj", rows, 1),
                    projection(params, layer, "down_proj", rows, 0), siluOnGate, rows, c.intermediateSize, plan, s);
        }
        // CR-Net keeps only block inputs: h = x + y_o comes back from the projection's rebuilt output
        hRecomputed = plan.recomputes() && c.layerType == LayerType.CRNET;
        h = hRecomputed ? plan.work("h", rows, d) : plan.saved(rows, d);
        n1 = plan.work("n1", rows, d);
        inv1 = plan.work("inv1", rows);
        qa = plan.work("q", rows, d);
        ka = plan.work("k", rows, d);
        va = plan.work(V_BUFFER, rows, d);
        probs = plan.work("probs", batch, c.numHeads, seqLen, seqLen);
        attn = plan.work("attn", rows, d);
        n2 = plan.work("n2", rows, d);
        inv2 = plan.work("inv2", rows);
        qkvOut = new Tensor[]{qa, ka, va};
        dqkv = new Tensor[]{s.dq, s.dk, s.dv};
    }

    /** member: the projection's place in its group of projections that share an input (its dh scratch). */
    private Projection projection(ParameterStore params, int layer, String proj, int rows, int member) {
        String name = ModelLayout.projectionName(layer, proj);
        switch (c.layerType) {
            case FULL:
                return new DenseProjection(be, params.get(name + ".weight"));
            case COLA:
            case COLA_M:
                return new ColaProjection(be, params.get(name + ".cola_a"), params.get(name + ".cola_b"), rows, proj, plan, s.dBottlenecks[member]);
            case CRNET:
                return chain.next(proj, layer == 0 ? params.get(name + ".weight") : null,
                        layer == 0 ? null : params.get(name + ".cr_a"), layer == 0 ? null : params.get(name + ".cr_b"),
                        layer == 0 ? null : params.get(name + ".cr_beta"), rows, x);
            case ELAS:
                return new ElasProjection(be, params.get(name + ".w_in"), params.get(name + ".w_out"), rows, proj, plan, s.dBottleneck);
            default:
                throw new IllegalStateException("no projection for " + c.layerType);
        }
    }

    /** out = block(x); out may not alias x. */
    void forward(Tensor out) {
        be.rmsNorm(x, norm1.value, c.rmsNormEps, n1, inv1);
        qkv.forward(n1, qkvOut);
        be.rope(qa, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.rope(ka, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.attention(qa, ka, va, batch, seqLen, c.numHeads, probs, attn);
        outputFromAttention(out);
    }

    /** out = h + MLP(RMSNorm(h)), h = x + o(attn): the block after attention (forward and decode). */
    private void outputFromAttention(Tensor out) {
        o.forward(attn, h);
        be.add(x, h, h);                                            // h = x + o(attn)
        be.rmsNorm(h, norm2.value, c.rmsNormEps, n2, inv2);
        mlp.forward(n2, out);
        be.add(h, out, out);                                        // out = h + MLP(n2)
    }

    /** Inference over a prompt: {@link #forward}, then this layer's roped k and v into the cache (positions 0..seqLen-1). */
    void prefill(Tensor out, KvCache cache) {
        forward(out);
        cache.store(layer, ka, va, seqLen);
    }

    /**
     * One decode step (a block built with seqLen 1): x holds position pos of each sequence. Its k
     * and v join the cache, and its query attends over positions 0..pos there; the rest is the
     * training forward's code. cosRow/sinRow: the rotary tables' row pos, [1, headDim/2].
     */
    void decode(Tensor out, KvCache cache, int pos, Tensor cosRow, Tensor sinRow) {
        if (seqLen != 1) throw new IllegalStateException("decode needs a block built for one position, not " + seqLen);
        be.rmsNorm(x, norm1.value, c.rmsNormEps, n1, inv1);
        qkv.forward(n1, qkvOut);
        be.rope(qa, 1, c.numHeads, cosRow, sinRow, false);
        be.rope(ka, 1, c.numHeads, cosRow, sinRow, false);
        cache.append(layer, pos, ka, va);
        cache.attend(layer, pos, qa, attn);
        outputFromAttention(out);
    }

    /**
     * Refills the recomputed tensors of this layer before its backward. CoLA-M (methods.md section
     * 4): from the saved x, h and rank-r activations: norms, full q/k/v, rope, attention, the MLP's
     * gate/up/product. CR-Net (section 5): from the block input and the projections' outputs y (the
     * chain buffers, which the layer above restored to this layer's y), so no projection product is
     * redone here; each projection's backward later rebuilds y_{l-1} with one product.
     */
    private void recompute() {
        be.rmsNorm(x, norm1.value, c.rmsNormEps, n1, inv1);
        qkv.recompute(n1, qkvOut);
        be.rope(qa, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.rope(ka, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.attention(qa, ka, va, batch, seqLen, c.numHeads, probs, attn);
        if (hRecomputed) {
            o.recompute(attn, h);
            be.add(x, h, h);
        } else {
            o.recompute(attn, null);                                // h is saved: o's output is not needed
        }
        be.rmsNorm(h, norm2.value, c.rmsNormEps, n2, inv2);
        mlp.recompute(n2);
    }

    /** dOut: gradient w.r.t. this block's output; writes the gradient w.r.t. its input into dx. */
    void backward(Tensor dOut, Tensor dx) {
        if (plan.recomputes()) {
            long flops = be.gemmFlops();
            recompute();
            plan.countRecompute(be.gemmFlops() - flops);
        }
        // MLP branch: out = h + MLP(n2)
        mlp.backward(n2, dOut, s.dNorm);
        be.rmsNormBackward(h, norm2.value, inv2, s.dNorm, dx, norm2.grad);
        be.axpy(1.0, dOut, dx);                                     // dh = dOut + d(norm2 path)
        // attention branch: h = x + o(attn); dx currently holds dh
        o.backward(attn, dx, s.dAttn, false);
        be.attentionBackward(qa, ka, va, probs, s.dAttn, batch, seqLen, c.numHeads, s.dq, s.dk, s.dv);
        be.rope(s.dq, seqLen, c.numHeads, ropeCos, ropeSin, true);
        be.rope(s.dk, seqLen, c.numHeads, ropeCos, ropeSin, true);
        qkv.backward(n1, dqkv, s.dNorm, false);
        be.rmsNormBackward(x, norm1.value, inv1, s.dNorm, s.dInputNorm, norm1.grad);
        be.axpy(1.0, s.dInputNorm, dx);                             // dx = dh + d(norm1 path)
    }
}
