package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * Keys and values of every layer for up to {@code capacity} positions of {@code batch} sequences,
 * allocated once. Layout per layer: [capacity, batch, d], so that a decode step's k and v
 * ([batch, d], one row per sequence) join the cache with one contiguous copy; head h of sequence b
 * is then the strided matrix at offset b*d + h*headDim with leading dimension batch*d. Keys are
 * stored after the rotary embedding.
 *
 * <p>Decode attention ({@link Backend#attentionDecode}) for the query q [batch, d] at position pos,
 * per sequence b and head h: o_bh = softmax(scale q_bh K_bh[0..pos]^T) V_bh[0..pos], row pos of the
 * training forward's causal attention over the same keys and values (InferenceModelTest compares
 * the two through the whole model).
 */
final class KvCache {
    private final Backend be;
    private final int layers, batch, capacity, d, heads;
    private final Tensor[] keys, values;          // per layer [capacity * batch, d]
    private final Tensor[][] keyRows, valueRows;  // per layer and position: the [batch, d] view a decode step writes
    private final Tensor scores;                  // [batch * heads, capacity]

    KvCache(Backend be, ModelConfig c, int batch, int capacity) {
        if (capacity > c.maxPositionEmbeddings) {
            throw new IllegalArgumentException(capacity + " positions exceed max_position_embeddings " + c.maxPositionEmbeddings);
        }
        this.be = be;
        this.layers = c.numLayers;
        this.batch = batch;
        this.capacity = capacity;
        this.d = c.hiddenSize;
        this.heads = c.numHeads;
        keys = new Tensor[layers];
        values = new Tensor[layers];
        keyRows = new Tensor[layers][capacity];
        valueRows = new Tensor[layers][capacity];
        for (int l = 0; l < layers; l++) {
            keys[l] = be.allocate(capacity * batch, d);
            values[l] = be.allocate(capacity * batch, d);
            for (int t = 0; t < capacity; t++) {
                keyRows[l][t] = keys[l].view(t * batch * d, batch, d);
                valueRows[l][t] = values[l].view(t * batch * d, batch, d);
            }
        }
        scores = be.allocate(batch * heads, capacity);
    }

    int capacity() { return capacity; }

    /** Bytes of the keys and values of all layers. */
    long bytes() { return 2L * layers * capacity * batch * d * keys[0].dtype.bytes; }

    /** Prefill: k, v [batch*seqLen, d] (row b*seqLen + t) become positions 0..seqLen-1. */
    void store(int layer, Tensor k, Tensor v, int seqLen) {
        if (seqLen > capacity) throw new IllegalArgumentException(seqLen + " positions exceed the cache's " + capacity);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seqLen; t++) {
                int src = (b * seqLen + t) * d, dst = (t * batch + b) * d;
                be.copy(k.view(src, 1, d), keys[layer].view(dst, 1, d));
                be.copy(v.view(src, 1, d), values[layer].view(dst, 1, d));
            }
        }
    }

    /** Decode: k, v [batch, d] become position pos. */
    void append(int layer, int pos, Tensor k, Tensor v) {
        be.copy(k, keyRows[layer][pos]);
        be.copy(v, valueRows[layer][pos]);
    }

    /** out [batch, d] = attention of q [batch, d] at position pos over the cached positions 0..pos. */
    void attend(int layer, int pos, Tensor q, Tensor out) {
        be.attentionDecode(q, keys[layer], values[layer], batch, pos + 1, heads, scores, out);
    }
}
