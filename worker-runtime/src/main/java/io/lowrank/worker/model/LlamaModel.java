package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * A LLaMA decoder bound to one batch shape. Parameters live in a {@link ParameterStore} that may be
 * shared by several models of different shapes (training and evaluation); activations are
 * allocated here once, and {@link #forward}/{@link #backward} allocate nothing.
 * <pre>
 *   x0 = E[ids];  x_{l+1} = block_l(x_l);  logits = RMSNorm(x_L) W_head^T;  loss = CE(logits, targets)
 * </pre>
 */
public final class LlamaModel {
    public static final int IGNORE_INDEX = -100;

    private final Backend be;
    private final ModelConfig c;
    private final ParameterStore params;
    private final int batch, seqLen, rows;
    private final DecoderBlock[] blocks;
    private final Tensor[] stream;        // stream[l] = input of block l; stream[L] = last block's output
    private final Tensor finalNormOut, finalInvRms, logits;
    private final ParameterStore.Param embed, finalNorm, head;
    private final Scratch s;
    private final int[] inputs, targets;  // copies of the last forward's ids, read by backward
    private final ActivationPlan plan;
    private final CrossLayerState chain;
    private final ModelSwitches switches = new ModelSwitches();
    private final int finalNormOffset;      // flat offsets where the gradient suffixes start (see backward)
    private final int[] layerOffsets;
    private double lastGradScale;

    public LlamaModel(Backend be, ModelConfig c, ParameterStore params, int batch, int seqLen) {
        this(be, c, params, batch, seqLen, c.layerType.recomputes || c.layerType == LayerType.CRNET);
    }

    /**
     * recompute: the family's memory schedule (CoLA-M's always; CR-Net's inverse reconstruction by
     * default, off to keep every activation, e.g. to check the recomputed gradients against).
     */
    public LlamaModel(Backend be, ModelConfig c, ParameterStore params, int batch, int seqLen, boolean recompute) {
        if (seqLen > c.maxPositionEmbeddings) {
            throw new ConfigException("seq_len", seqLen + " exceeds max_position_embeddings " + c.maxPositionEmbeddings);
        }
        if (batch <= 0 || seqLen <= 0) throw new ConfigException("batch_size", "batch " + batch + " x seq_len " + seqLen + " must be positive");
        this.be = be;
        this.c = c;
        this.params = params;
        this.batch = batch;
        this.seqLen = seqLen;
        this.rows = batch * seqLen;
        int d = c.hiddenSize;
        this.s = new Scratch(be, c, rows, seqLen);
        RopeTable rope = new RopeTable(be, seqLen, c.headDim(), c.ropeTheta);
        this.stream = new Tensor[c.numLayers + 1];
        for (int l = 0; l <= c.numLayers; l++) stream[l] = be.allocate(rows, d);
        if (recompute && !(c.layerType.recomputes || c.layerType == LayerType.CRNET)) {
            throw new ConfigException("layer_type", c.layerType.id + " has no recompute schedule");
        }
        if (!recompute && c.layerType.recomputes) {
            throw new ConfigException("layer_type", c.layerType.id + " is defined by its recompute schedule; use cola to keep every activation");
        }
        this.plan = new ActivationPlan(be, recompute);
        this.chain = c.layerType == LayerType.CRNET ? new CrossLayerState(be, s, plan, c.numLayers) : null;
        this.blocks = new DecoderBlock[c.numLayers];
        for (int l = 0; l < c.numLayers; l++) {
            blocks[l] = new DecoderBlock(be, c, params, l, batch, seqLen, stream[l], rope.cos, rope.sin, s, plan, chain, switches);
        }
        this.finalNormOut = be.allocate(rows, d);
        this.finalInvRms = be.allocate(rows);
        this.logits = be.allocate(rows, c.vocabSize);
        this.embed = params.get("model.embed_tokens.weight");
        this.finalNorm = params.get("model.norm.weight");
        this.head = params.get("lm_head.weight");
        this.finalNormOffset = finalNorm.offset;
        this.layerOffsets = new int[c.numLayers];
        for (int l = 0; l < c.numLayers; l++) {
            layerOffsets[l] = params.get(ModelLayout.layerPrefix(l) + "input_layernorm.weight").offset;
        }
        if (head.offset < finalNormOffset) throw new IllegalStateException("layout must end with model.norm then lm_head");
        this.inputs = new int[rows];
        this.targets = new int[rows];
    }

    public ModelConfig config() { return c; }
    public ModelSwitches switches() { return switches; }
    public ParameterStore params() { return params; }
    public int batch() { return batch; }
    public int seqLen() { return seqLen; }

    /**
     * Forward pass and loss. inputIds/targetIds hold batch*seqLen ids (row-major); targets equal to
     * {@link #IGNORE_INDEX} are skipped. Returns the sum of token losses and leaves
     * gradScale * dL/dlogits ready for {@link #backward()}.
     *
     * @return {@code [lossSum, targetCount]}
     */
    public double[] forward(int[] inputIds, int[] targetIds, double gradScale) {
        if (inputIds.length != rows || targetIds.length != rows) {
            throw new IllegalArgumentException("expected " + rows + " ids (batch " + batch + " x seq_len " + seqLen + "), got " + inputIds.length + " inputs and " + targetIds.length + " targets");
        }
        System.arraycopy(inputIds, 0, inputs, 0, rows);
        System.arraycopy(targetIds, 0, targets, 0, rows);
        int count = 0;
        for (int t : targets) if (t != IGNORE_INDEX) count++;
        be.embedding(embed.value, inputs, stream[0]);
        for (int l = 0; l < c.numLayers; l++) blocks[l].forward(stream[l + 1]);
        be.rmsNorm(stream[c.numLayers], finalNorm.value, c.rmsNormEps, finalNormOut, finalInvRms);
        be.matmul(finalNormOut, false, head.value, true, logits, 0.0);
        double lossSum = be.crossEntropy(logits, targets, IGNORE_INDEX, gradScale);
        lastGradScale = gradScale;
        return new double[]{lossSum, count};
    }

    /**
     * The training forward without a loss: logits [batch*seqLen, vocab] of inputIds, valid until
     * the next call (the reference the KV-cache decoder is tested against).
     */
    public Tensor forwardLogits(int[] inputIds) {
        if (inputIds.length != rows) throw new IllegalArgumentException("expected " + rows + " ids (batch " + batch + " x seq_len " + seqLen + "), got " + inputIds.length);
        System.arraycopy(inputIds, 0, inputs, 0, rows);
        be.embedding(embed.value, inputs, stream[0]);
        for (int l = 0; l < c.numLayers; l++) blocks[l].forward(stream[l + 1]);
        be.rmsNorm(stream[c.numLayers], finalNorm.value, c.rmsNormEps, finalNormOut, finalInvRms);
        be.matmul(finalNormOut, false, head.value, true, logits, 0.0);
        return logits;
    }

    /** Mean loss over the non-ignored targets, with dL/dlogits scaled by gradScale for backward. */
    public double forwardMean(int[] inputIds, int[] targetIds, double extraGradScale) {
        int count = 0;
        for (int t : targetIds) if (t != IGNORE_INDEX) count++;
        double[] r = forward(inputIds, targetIds, count == 0 ? 0.0 : extraGradScale / count);
        return count == 0 ? 0.0 : r[0] / count;
    }

    /** Accumulates the gradient of the last forward's (scaled) loss into the parameter gradients. */
    public void backward() {
        backward(null);
    }

    /**
     * Backward pass; {@code ready} (may be null) hears each time a further suffix of the flat
     * gradient buffer is final: after the head and final norm, after each decoder layer (top to
     * bottom), after the embedding.
     */
    public void backward(GradientReadyListener ready) {
        // logits now hold dL/dlogits
        be.matmul(logits, true, finalNormOut, false, head.grad, 1.0);   // dW_head += dlogits^T n
        be.matmul(logits, false, head.value, false, s.dNorm, 0.0);      // dn = dlogits W_head
        if (chain != null) chain.startBackward();
        plan.startBackward();
        Tensor dOut = s.dStreamA, dIn = s.dStreamB;
        be.rmsNormBackward(stream[c.numLayers], finalNorm.value, finalInvRms, s.dNorm, dOut, finalNorm.grad);
        if (ready != null) ready.gradientsReadyFrom(finalNormOffset);
        for (int l = c.numLayers - 1; l >= 0; l--) {
            blocks[l].backward(dOut, dIn);
            Tensor t = dOut; dOut = dIn; dIn = t;
            if (ready != null) ready.gradientsReadyFrom(layerOffsets[l]);
        }
        be.embeddingBackward(embed.grad, inputs, dOut);
        if (ready != null) ready.gradientsReadyFrom(0);
    }

    /**
     * Bytes of activations held for the backward pass by the decoder layers: the residual stream,
     * every tensor a layer saves, the recompute buffers shared by all layers, CR-Net's y buffers.
     * Counted from the allocator's sizes of the tensors the model allocated for those roles
     * (gradient buffers excluded). This is what the families' memory schedules change.
     */
    public long layerActivationBytes() {
        long bytes = stream[0].dtype.bytes;
        return (long) (c.numLayers + 1) * rows * c.hiddenSize * bytes
                + plan.savedBytes() + plan.sharedBytes() + (chain == null ? 0 : chain.bytes());
    }

    /**
     * Gemm FLOPs the last backward pass spent recomputing activations instead of computing
     * gradients (attention's products included; 0 for the store-everything schedules).
     */
    public long recomputeFlops() { return plan.recomputeFlops(); }

    /** {@link #layerActivationBytes()} plus the head's norm output and logits (the same for every family). */
    public long activationBytes() {
        long bytes = stream[0].dtype.bytes;
        return layerActivationBytes() + (long) (finalNormOut.size + finalInvRms.size + logits.size) * bytes;
    }
}
