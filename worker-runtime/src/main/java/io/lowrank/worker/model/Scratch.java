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
        this(be, c, rows, false);
    }

    /**
     * forwardOnly (inference): only what a forward pass reads: ELAS's y2 buffer (dGate), and for
     * CoLA one distinct [1, r] placeholder per group member, since a projection is built with its
     * dh scratch (read only by backward). Every other field is null.
     */
    Scratch(Backend be, ModelConfig c, int rows, boolean forwardOnly) {
        int d = c.hiddenSize, ff = c.intermediateSize;
        if (forwardOnly) {
            dStreamA = dStreamB = dInputNorm = dNorm = dq = dk = dv = dAttn = dUp = dAct = null;
            dGate = c.layerType == LayerType.ELAS ? be.allocate(rows, ff) : null;
            dBottleneck = null;
            dBottlenecks = c.layerType.colaParameters() ? new Tensor[]{be.allocate(1, c.rank), be.allocate(1, c.rank), be.allocate(1, c.rank)} : null;
            return;
        }
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
