package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * Gradient buffers of activations, shared by all layers: backward visits one layer at a time, so
 * one set suffices (llm.c does the same). Allocated once per (batch, seqLen).
 */
final class Scratch {
    final Tensor dStreamA, dStreamB; // [N, d] residual-stream gradient, ping-ponged between layers
    final Tensor dInputNorm;  // [N, d] a block's gradient through its input norm
    final Tensor dNorm;       // [N, d] gradient w.r.t. a norm output
    final Tensor dq, dk, dv, dAttn;   // [N, d]
    final Tensor dGate, dUp, dAct;    // [N, ff]; dUp is null for ELAS (no gate: dGate holds y2, dAct dy)
    final Tensor dBottleneck; // [N, r] the low-rank families, or null
    /** CoLA: one [N, r] dh per member of the largest group of projections that share an input (q/k/v); [0] is dBottleneck. */
    final Tensor[] dBottlenecks;

    Scratch(Backend be, ModelConfig c, int rows, int seqLen) {
        int d = c.hiddenSize, ff = c.intermediateSize;
        dStreamA = be.allocate(rows, d);
        dStreamB = be.allocate(rows, d);
        dInputNorm = be.allocate(rows, d);
        dNorm = be.allocate(rows, d);
        dq = be.allocate(rows, d);
        dk = be.allocate(rows, d);
        dv = be.allocate(rows, d);
        dAttn = be.allocate(rows, d);
        dGate = be.allocate(rows, ff);
        dUp = c.layerType == LayerType.ELAS ? null : be.allocate(rows, ff);
        dAct = be.allocate(rows, ff);
        dBottleneck = c.layerType == LayerType.FULL ? null : be.allocate(rows, c.rank);
        dBottlenecks = c.layerType.colaParameters() ? new Tensor[]{dBottleneck, be.allocate(rows, c.rank), be.allocate(rows, c.rank)} : null;
    }
}
