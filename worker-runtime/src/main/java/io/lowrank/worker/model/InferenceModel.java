package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * A LLaMA decoder for generation, bound to {@code batch} sequences whose prompts hold
 * {@code promptLen} tokens, with a {@link KvCache} of {@code capacity} positions; all memory is
 * allocated here, once.
 * <pre>
 *   prefill(prompt):  the training forward ({@link DecoderBlock#forward}) over the whole prompt in
 *                     one pass, each layer's roped k and v kept in the cache; logits of the last position
 *   decode(token):    one position per sequence through the same blocks' projections, norms and MLP,
 *                     attending over the cache; logits of that position
 * </pre>
 * The blocks are the training model's {@link DecoderBlock}s, built on a forward-only
 * {@link ActivationPlan} (every buffer shared by the layers, nothing kept for a backward pass):
 * CR-Net's cross-layer chain and ELAS's 2:4 activations run the training forward's code. A decode
 * step allocates nothing.
 */
public final class InferenceModel {
    private final Backend be;
    private final ModelConfig c;
    private final int batch, promptLen, capacity;
    private final DecoderBlock[] prefillBlocks, decodeBlocks;
    private final Tensor[] prefillStream, decodeStream;   // ping-pong residual streams
    private final KvCache cache;
    private final Tensor[] cosRow, sinRow;                 // the rotary tables' row per position
    private final Tensor[] lastRowSrc, lastRowDst;         // prefill: the last prompt position of each sequence
    private final Tensor last, normOut, invRms, logits;    // [batch, d], [batch, d], [batch], [batch, vocab]
    private final ParameterStore.Param embed, finalNorm, head;
    private final ModelSwitches switches = new ModelSwitches();
    private int position;                                  // positions held in the cache

    /**
     * @param elasSparse ELAS: 2:4 activation sparsity on, as the trainer's forward after its dense
     *                   warm-up (see ModelCheckpoint.elasSparse); ignored by the other families
     */
    public InferenceModel(Backend be, ModelConfig c, ParameterStore params, int batch, int promptLen, int capacity,
                          boolean elasSparse) {
        if (batch <= 0 || promptLen <= 0) throw new IllegalArgumentException("batch " + batch + " and prompt length " + promptLen + " must be positive");
        if (promptLen > c.maxPositionEmbeddings) {
            throw new IllegalArgumentException("the prompt holds " + promptLen + " tokens, more than the model's max_position_embeddings "
                    + c.maxPositionEmbeddings + ": shorten it");
        }
        if (capacity < promptLen || capacity > c.maxPositionEmbeddings) {
            throw new IllegalArgumentException("cache capacity " + capacity + " must lie in [prompt length " + promptLen
                    + ", max_position_embeddings " + c.maxPositionEmbeddings + "]");
        }
        this.be = be;
        this.c = c;
        this.batch = batch;
        this.promptLen = promptLen;
        this.capacity = capacity;
        int d = c.hiddenSize;
        switches.setSparseActivations(elasSparse);
        this.embed = params.get("model.embed_tokens.weight");
        this.finalNorm = params.get("model.norm.weight");
        this.head = params.get("lm_head.weight");
        this.cache = new KvCache(be, c, batch, capacity);
        RopeTable rope = new RopeTable(be, capacity, c.headDim(), c.ropeTheta);
        int half = c.headDim() / 2;
        this.cosRow = new Tensor[capacity];
        this.sinRow = new Tensor[capacity];
        for (int t = 0; t < capacity; t++) {
            cosRow[t] = rope.cos.view(t * half, 1, half);
            sinRow[t] = rope.sin.view(t * half, 1, half);
        }
        Tensor promptCos = rope.cos.view(0, promptLen, half), promptSin = rope.sin.view(0, promptLen, half);
        int prefillRows = batch * promptLen;
        this.prefillStream = new Tensor[]{be.allocate(prefillRows, d), be.allocate(prefillRows, d)};
        this.decodeStream = new Tensor[]{be.allocate(batch, d), be.allocate(batch, d)};
        this.prefillBlocks = blocks(params, promptLen, prefillStream, promptCos, promptSin);
        this.decodeBlocks = blocks(params, 1, decodeStream, cosRow[0], sinRow[0]);
        this.last = be.allocate(batch, d);
        this.normOut = be.allocate(batch, d);
        this.invRms = be.allocate(batch);
        this.logits = be.allocate(batch, c.vocabSize);
        Tensor prefillOut = prefillStream[c.numLayers % 2];
        this.lastRowSrc = new Tensor[batch];
        this.lastRowDst = new Tensor[batch];
        for (int b = 0; b < batch; b++) {
            lastRowSrc[b] = prefillOut.view((b * promptLen + promptLen - 1) * d, 1, d);
            lastRowDst[b] = last.view(b * d, 1, d);
        }
    }

    /** One stack of blocks for seqLen positions per sequence, on its own forward-only plan. */
    private DecoderBlock[] blocks(ParameterStore params, int seqLen, Tensor[] stream, Tensor cos, Tensor sin) {
        int rows = batch * seqLen;
        ActivationPlan plan = ActivationPlan.forwardOnly(be);
        Scratch s = new Scratch(be, c, rows, true);
        CrossLayerState chain = c.layerType == LayerType.CRNET ? new CrossLayerState(be, s, plan, c.numLayers) : null;
        DecoderBlock[] blocks = new DecoderBlock[c.numLayers];
        for (int l = 0; l < c.numLayers; l++) {
            blocks[l] = new DecoderBlock(be, c, params, l, batch, seqLen, stream[l % 2], cos, sin, s, plan, chain, switches);
        }
        return blocks;
    }

    public ModelConfig config() { return c; }
    public int batch() { return batch; }
    public int promptLength() { return promptLen; }
    public int capacity() { return capacity; }
    /** Positions held in the cache (the next decode step's position). */
    public int position() { return position; }
    /** Bytes of the KV cache. */
    public long cacheBytes() { return cache.bytes(); }

    /**
     * Runs the prompts (batch x promptLen ids, row-major) through the model in one pass and fills
     * the cache; returns the logits [batch, vocab] of each prompt's last position (valid until the
     * next call). Starts a new generation: earlier cache contents are dropped.
     */
    public Tensor prefill(int[] promptIds) {
        if (promptIds.length != batch * promptLen) {
            throw new IllegalArgumentException("expected " + batch + " x " + promptLen + " prompt ids, got " + promptIds.length);
        }
        checkIds(promptIds);
        be.embedding(embed.value, promptIds, prefillStream[0]);
        for (int l = 0; l < c.numLayers; l++) prefillBlocks[l].prefill(prefillStream[(l + 1) % 2], cache);
        for (int b = 0; b < batch; b++) be.copy(lastRowSrc[b], lastRowDst[b]);
        position = promptLen;
        return head(last);
    }

    /**
     * Appends one token per sequence at {@link #position()} and returns the logits [batch, vocab]
     * of that position (valid until the next call). Allocates nothing.
     */
    public Tensor decode(int[] ids) {
        if (ids.length != batch) throw new IllegalArgumentException("expected " + batch + " ids, got " + ids.length);
        if (position == 0) throw new IllegalStateException("decode before prefill");
        if (position >= capacity) {
            throw new IllegalStateException("the cache is full: " + capacity + " positions (max_position_embeddings " + c.maxPositionEmbeddings + ")");
        }
        checkIds(ids);
        be.embedding(embed.value, ids, decodeStream[0]);
        for (int l = 0; l < c.numLayers; l++) decodeBlocks[l].decode(decodeStream[(l + 1) % 2], cache, position, cosRow[position], sinRow[position]);
        position++;
        return head(decodeStream[c.numLayers % 2]);
    }

    private Tensor head(Tensor x) {
        be.rmsNorm(x, finalNorm.value, c.rmsNormEps, normOut, invRms);
        be.matmul(normOut, false, head.value, true, logits, 0.0);   // logits = RMSNorm(x) W_head^T
        return logits;
    }

    private void checkIds(int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= c.vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + " is outside the model's vocabulary [0, " + c.vocabSize + ")");
            }
        }
    }
}
