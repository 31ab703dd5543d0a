package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * LLaMA's MLP: out = down( act(gate(n)) * up(n) ), act = SiLU, or identity for CoLA's only_lr_act
 * (the bottleneck SiLUs are then the only non-linearity).
 */
final class SwiGluMlp implements Mlp {
    /** Plan names of the gate and up outputs (CR-Net's chain of those kinds lives in them). */
    static final String GATE_BUFFER = "mlp.gate", UP_BUFFER = "mlp.up";

    private final Backend be;
    private final Projection down;
    private final SharedInputGroup gateUp;      // gate and up read n: grouped products where the family allows
    private final Tensor[] gateUpOut, dGateUp;
    private final boolean siluOnGate;
    private final Tensor g, u, act;       // [rows, ff]: recomputable
    private final Scratch s;

    SwiGluMlp(Backend be, Projection gate, Projection up, Projection down, boolean siluOnGate,
              int rows, int ff, ActivationPlan plan, Scratch s) {
        this.be = be;
        this.down = down;
        this.gateUp = new SharedInputGroup(be, gate, up);
        this.siluOnGate = siluOnGate;
        this.g = plan.work(GATE_BUFFER, rows, ff);
        this.u = plan.work(UP_BUFFER, rows, ff);
        this.act = plan.work("mlp.act", rows, ff);
        this.s = s;
        this.gateUpOut = new Tensor[]{g, u};
        this.dGateUp = new Tensor[]{s.dGate, s.dUp};
    }

    @Override
    public void forward(Tensor n, Tensor out) {
        gateUp.forward(n, gateUpOut);
        be.gatedProduct(g, u, act, siluOnGate);      // act = SiLU(g) * u
        down.forward(act, out);
    }

    @Override
    public void recompute(Tensor n) {
        gateUp.recompute(n, gateUpOut);
        be.gatedProduct(g, u, act, siluOnGate);
        down.recompute(act, null);                    // down's output is not read by backward
    }

    @Override
    public void backward(Tensor n, Tensor dOut, Tensor dn) {
        down.backward(act, dOut, s.dAct, false);
        be.gatedProductBackward(g, u, s.dAct, s.dGate, s.dUp, siluOnGate);
        gateUp.backward(n, dGateUp, dn, false);
    }
}
