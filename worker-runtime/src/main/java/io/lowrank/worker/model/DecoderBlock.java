package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * One pre-norm LLaMA block (methods.md section 1):
 * <pre>
 *   h   = x + o( Attn( rope(q(n1)), rope(k(n1)), v(n1) ) ),   n1 = RMSNorm(x)
 *   out = h + down( act(gate(n2)) * up(n2) ),                 n2 = RMSNorm(h)
 * </pre>
 * Every tensor the backward pass reads is a field allocated here, once.
 */
final class DecoderBlock {
    private final Backend be;
    private final ModelConfig c;
    private final int batch, seqLen;
    private final Scratch s;
    private final ParameterStore.Param norm1, norm2;
    private final Projection q, k, v, o, gate, up, down;
    private final boolean siluOnGate;
    private final Tensor ropeCos, ropeSin;

    // saved for backward
    private final Tensor x;            // block input (a view of the model's residual buffer)
    private final Tensor n1, inv1, qa, ka, va, probs, attn, h, n2, inv2, g, u, act;

    DecoderBlock(Backend be, ModelConfig c, ParameterStore params, int layer, int batch, int seqLen,
                 Tensor input, Tensor ropeCos, Tensor ropeSin, Scratch s) {
        this.be = be;
        this.c = c;
        this.batch = batch;
        this.seqLen = seqLen;
        this.s = s;
        this.x = input;
        this.ropeCos = ropeCos;
        this.ropeSin = ropeSin;
        int rows = batch * seqLen, d = c.hiddenSize, ff = c.intermediateSize;
        String p = ModelLayout.layerPrefix(layer);
        norm1 = params.get(p + "input_layernorm.weight");
        norm2 = params.get(p + "post_attention_layernorm.weight");
        q = projection(params, layer, "q_proj", rows);
        k = projection(params, layer, "k_proj", rows);
        v = projection(params, layer, "v_proj", rows);
        o = projection(params, layer, "o_proj", rows);
        gate = projection(params, layer, "gate_proj", rows);
        up = projection(params, layer, "up_proj", rows);
        down = projection(params, layer, "down_proj", rows);
        // CoLA's only_lr_act drops the SiLU on the gate; full-rank LLaMA always has it.
        siluOnGate = c.layerType == LayerType.FULL || !c.onlyLrAct;
        n1 = be.allocate(rows, d);
        inv1 = be.allocate(rows);
        qa = be.allocate(rows, d);
        ka = be.allocate(rows, d);
        va = be.allocate(rows, d);
        probs = be.allocate(batch, c.numHeads, seqLen, seqLen);
        attn = be.allocate(rows, d);
        h = be.allocate(rows, d);
        n2 = be.allocate(rows, d);
        inv2 = be.allocate(rows);
        g = be.allocate(rows, ff);
        u = be.allocate(rows, ff);
        act = be.allocate(rows, ff);
    }

    private Projection projection(ParameterStore params, int layer, String proj, int rows) {
        String name = ModelLayout.projectionName(layer, proj);
        switch (c.layerType) {
            case FULL: return new DenseProjection(be, params.get(name + ".weight"));
            case COLA: return new ColaProjection(be, params.get(name + ".cola_a"), params.get(name + ".cola_b"), rows, s.dBottleneck);
            default: throw new IllegalStateException("no projection for " + c.layerType);
        }
    }

    /** out = block(x); out may not alias x. */
    void forward(Tensor out) {
        be.rmsNorm(x, norm1.value, c.rmsNormEps, n1, inv1);
        q.forward(n1, qa);
        k.forward(n1, ka);
        v.forward(n1, va);
        be.rope(qa, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.rope(ka, seqLen, c.numHeads, ropeCos, ropeSin, false);
        be.attention(qa, ka, va, batch, seqLen, c.numHeads, probs, attn);
        o.forward(attn, h);
        be.add(x, h, h);                                            // h = x + o(attn)
        be.rmsNorm(h, norm2.value, c.rmsNormEps, n2, inv2);
        gate.forward(n2, g);
        up.forward(n2, u);
        be.gatedProduct(g, u, act, siluOnGate);                     // act = SiLU(g) * u
        down.forward(act, out);
        be.add(h, out, out);                                        // out = h + down(act)
    }

    /** dOut: gradient w.r.t. this block's output; writes the gradient w.r.t. its input into dx. */
    void backward(Tensor dOut, Tensor dx) {
        // MLP branch: out = h + down(act)
        down.backward(act, dOut, s.dAct, false);
        be.gatedProductBackward(g, u, s.dAct, s.dGate, s.dUp, siluOnGate);
        gate.backward(n2, s.dGate, s.dNorm, false);
        up.backward(n2, s.dUp, s.dNorm, true);
        be.rmsNormBackward(h, norm2.value, inv2, s.dNorm, dx, norm2.grad);
        be.axpy(1.0, dOut, dx);                                     // dh = dOut + d(norm2 path)
        // attention branch: h = x + o(attn); dx currently holds dh
        o.backward(attn, dx, s.dAttn, false);
        be.attentionBackward(qa, ka, va, probs, s.dAttn, batch, seqLen, c.numHeads, s.dq, s.dk, s.dv);
        be.rope(s.dq, seqLen, c.numHeads, ropeCos, ropeSin, true);
        be.rope(s.dk, seqLen, c.numHeads, ropeCos, ropeSin, true);
        q.backward(n1, s.dq, s.dNorm, false);
        k.backward(n1, s.dk, s.dNorm, true);
        v.backward(n1, s.dv, s.dNorm, true);
        be.rmsNormBackward(x, norm1.value, inv1, s.dNorm, s.dInputNorm, norm1.grad);
        be.axpy(1.0, s.dInputNorm, dx);                             // dx = dh + d(norm1 path)
    }

    long savedBytes() {
        long t = (long) (n1.size + inv1.size + qa.size + ka.size + va.size + probs.size + attn.size + h.size
                + n2.size + inv2.size + g.size + u.size + act.size);
        long b = t * x.dtype.bytes;
        for (Projection p : new Projection[]{q, k, v, o, gate, up, down}) b += p.savedBytes();
        return b;
    }
}
