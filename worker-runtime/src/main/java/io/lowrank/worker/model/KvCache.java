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
 * <p>Decode attention for the query q [batch, d] at position pos, per sequence b and head h:
 * <pre>
 *   s = scale q_bh K_bh[0..pos]^T
 *   p = softmax(s)                        (double accumulation, as the training kernel's causal rows)
 *   o_bh = p V_bh[0..pos]
 * </pre>
 * which is row pos of the training forward's causal attention over the same keys and values
 * (InferenceModelTest compares the two through the whole model).
 */
final class KvCache {
    private final Backend be;
    private final int layers, batch, capacity, d, heads, headDim;
    private final Tensor[] keys, values;          // per layer [capacity * batch, d]
    private final Tensor[][] keyRows, valueRows;  // per layer and position: the [batch, d] view a decode step writes
    private final Tensor scores;                  // [batch * heads, capacity]
    private final double scale;

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
        this.headDim = c.headDim();
        this.scale = 1.0 / Math.sqrt(headDim);
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

    /**
     * out [batch, d] = attention of q [batch, d] at position pos over the cached positions 0..pos.
     * Plain loops with double accumulation rather than the backend's gemm: per head these are a
     * 1 x headDim by headDim x n product and its transpose, far too small for a parallel gemm,
     * whose per-call cost (waking its threads) would exceed the arithmetic (2 n d multiply-adds per layer).
     */
    void attend(int layer, int pos, Tensor q, Tensor out) {
        int n = pos + 1;
        Tensor k = keys[layer], v = values[layer];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int x0 = b * d + h * headDim, s0 = (b * heads + h) * capacity;
                for (int t = 0; t < n; t++) {                       // s_t = scale q . k_t
                    int k0 = (t * batch + b) * d + h * headDim;
                    double dot = 0;
                    for (int i = 0; i < headDim; i++) dot += q.get(x0 + i) * k.get(k0 + i);
                    scores.set(s0 + t, dot * scale);
                }
                softmax(scores, s0, n);
                for (int i = 0; i < headDim; i++) {                 // o = sum_t p_t v_t
                    double acc = 0;
                    for (int t = 0; t < n; t++) acc += scores.get(s0 + t) * v.get((t * batch + b) * d + h * headDim + i);
                    out.set(x0 + i, acc);
                }
            }
        }
    }

    /** p[p0 .. p0+n) = softmax of itself, accumulated in double as the training kernel's causal rows. */
    static void softmax(Tensor p, int p0, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) max = Math.max(max, p.get(p0 + j));
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double e = Math.exp(p.get(p0 + j) - max);
            p.set(p0 + j, e);
            sum += e;
        }
        double inv = 1.0 / sum;
        for (int j = 0; j < n; j++) p.set(p0 + j, p.get(p0 + j) * inv);
    }
}
