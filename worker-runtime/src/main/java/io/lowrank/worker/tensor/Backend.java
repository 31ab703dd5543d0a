package io.lowrank.worker.tensor;

import java.nio.ByteBuffer;

/**
 * The seam under the model: every numeric operation the model needs, nothing more. Model code
 * never touches ND4J (or CUDA) directly; a backend owns memory and kernels.
 *
 * <p>Conventions: tensors are row-major. Operations write their output unless the name says
 * "accumulate". "rows" is the number of token positions N = batch * seqLen.
 */
public interface Backend extends AutoCloseable {

    DType dtype();

    /** Allocates a zero-filled tensor. Counted by {@link #memory()}. */
    Tensor allocate(int... shape);

    MemoryStats memory();

    /** Human-readable description of the backend (library, threads). */
    String describe();

    // ---- host transfers ----
    // The only way model, checkpoint and evaluation code reads or writes tensor values on the host
    // (initialisation, RoPE tables, CR-Net's beta, checkpoints). The defaults read and write the
    // tensor's host storage; a backend whose tensors live in device memory overrides all five.

    /** dst = src, element by element (src.length == dst.size), each value rounded to dst's dtype. */
    default void copyFromHost(double[] src, Tensor dst) { dst.copyFrom(src); }

    /** dst = src, element by element (src.length == dst.size). */
    default void copyFromHost(float[] src, Tensor dst) { dst.copyFrom(src); }

    /** A host copy of t as floats. */
    default float[] toHostFloats(Tensor t) { return t.toFloatArray(); }

    /** A host copy of t as doubles. */
    default double[] toHostDoubles(Tensor t) { return t.toDoubleArray(); }

    /** Element i of t, read to the host. */
    default double valueAt(Tensor t, int i) { return t.get(i); }

    /** t[i] += v, with v rounded to t's dtype first (a scalar gradient, e.g. CR-Net's beta). */
    default void addAt(Tensor t, int i, double v) { t.add(i, v); }

    // ---- dense linear algebra ----

    /**
     * C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, on strided sub-matrices: element (i,j) of
     * the untransposed A lives at a.offset + offA + i*lda + j (likewise B and C).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
              Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
              double beta, Tensor c, int offC, int ldc);

    /**
     * Floating-point operations (2 m n k per product) of every gemm this backend has run, attention's
     * included; a running total, so a caller measures a phase by the difference. Not thread-safe
     * against gemms still running: read it between operations.
     */
    long gemmFlops();

    /** 2-D convenience: c = op(a) op(b) + beta c. */
    default void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, double beta) {
        int m = transA ? a.dim(1) : a.dim(0);
        int k = transA ? a.dim(0) : a.dim(1);
        int kb = transB ? b.dim(1) : b.dim(0);
        int n = transB ? b.dim(0) : b.dim(1);
        if (k != kb || c.dim(0) != m || c.dim(1) != n) {
            throw new IllegalArgumentException("matmul shapes do not agree: " + a + (transA ? "^T" : "") + " x " + b + (transB ? "^T" : "") + " -> " + c);
        }
        gemm(transA, transB, m, n, k, 1.0, a, 0, a.dim(1), b, 0, b.dim(1), beta, c, 0, c.dim(1));
    }

    /**
     * c[g] = op(a) op(b[g]) + beta c[g] for every g: projections that read the same input (q/k/v,
     * gate/up) in one product, so the input is read once for all of them. The default runs them
     * one by one; a backend may fuse them (the result may differ by float rounding only).
     */
    default void matmulSharedA(Tensor a, boolean transA, Tensor[] b, boolean transB, Tensor[] c, double beta) {
        if (b.length != c.length) throw new IllegalArgumentException(b.length + " B operands for " + c.length + " outputs");
        for (int g = 0; g < b.length; g++) matmul(a, transA, b[g], transB, c[g], beta);
    }

    /**
     * c = sum_g op(a[g]) op(b[g]) + beta c: the gradient into an input that several projections
     * read, in one product. The default runs the terms one by one; a backend may fuse them.
     */
    default void matmulSumK(Tensor[] a, boolean transA, Tensor[] b, boolean transB, Tensor c, double beta) {
        if (a.length != b.length || a.length == 0) throw new IllegalArgumentException(a.length + " A and " + b.length + " B operands");
        for (int g = 0; g < a.length; g++) matmul(a[g], transA, b[g], transB, c, g == 0 ? beta : 1.0);
    }

    /**
     * CoLA's bottlenecks on a shared input: h[g] = x a[g] and z[g] = SiLU(h[g]) for every g. The
     * default is {@link #matmulSharedA} then {@link #silu}; a backend may fuse the SiLU into the
     * product (with the same results).
     */
    default void colaBottleneckForward(Tensor x, Tensor[] a, Tensor[] h, Tensor[] z) {
        if (z.length != h.length) throw new IllegalArgumentException(z.length + " SiLU outputs for " + h.length + " products");
        matmulSharedA(x, false, a, false, h, 0.0);
        for (int g = 0; g < h.length; g++) silu(h[g], z[g]);
    }

    /**
     * CoLA's gradient into its bottleneck: dh = (dy b^T) * SiLU'(h). The default is {@link #matmul}
     * then {@link #siluBackward}; a backend may fuse them (with the same results).
     */
    default void colaBottleneckBackward(Tensor dy, Tensor b, Tensor h, Tensor dh) {
        matmul(dy, false, b, true, dh, 0.0);
        siluBackward(h, dh, dh);
    }

    // ---- element-wise ----

    void fill(Tensor t, double value);

    void copy(Tensor src, Tensor dst);

    /** out = a + b (out may alias a or b). */
    void add(Tensor a, Tensor b, Tensor out);

    /** dst += alpha * src. */
    void axpy(double alpha, Tensor src, Tensor dst);

    void scale(Tensor t, double alpha);

    /** z = SiLU(h) = h * sigmoid(h). */
    void silu(Tensor h, Tensor z);

    /** dh = dz * SiLU'(h), SiLU'(h) = s(h) (1 + h (1 - s(h))). */
    void siluBackward(Tensor h, Tensor dz, Tensor dh);

    /** out = act(gate) * up, act = SiLU or identity. */
    void gatedProduct(Tensor gate, Tensor up, Tensor out, boolean siluOnGate);

    /** Backward of {@link #gatedProduct}: writes dGate and dUp. */
    void gatedProductBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp, boolean siluOnGate);

    // ---- ELAS: squared ReLU and 2:4 structured sparsity (methods.md section 6) ----

    /** y = ReLU(x)^2 (y may alias x). */
    void reluSquare(Tensor x, Tensor y);

    /** Backward of {@link #reluSquare}: dx = 2 ReLU(x) * dy (dx may alias dy). */
    void reluSquareBackward(Tensor x, Tensor dy, Tensor dx);

    /**
     * A 2:4 compressed matrix S [rows, cols] (row = token, column = feature), allocated by the
     * backend and only ever written by {@link #prune24}. Its layout is the native kernels' (see
     * {@code io.lowrank.nativekernels.Sparse24Layout}), so that they work on these buffers with no
     * copy. With G = cols / 4 groups of 4 columns and T = cols % 4 tail columns:
     * <ul>
     *   <li>{@link #values} [rows, 2G] of the backend's dtype: per group its 2 kept values, lower
     *       column first;</li>
     *   <li>{@link #tail} [rows, T] of the backend's dtype: the last T columns, dense (a view of
     *       the same allocation as the values; empty when T = 0);</li>
     *   <li>meta [rows, G] bytes off-heap (a direct buffer the backend allocates once): the kept
     *       positions of group g of a row are bits 0-1 (i0) and 2-3 (i1) of its byte, i0 &lt; i1.</li>
     * </ul>
     * Selection: in every group the 2 entries of largest magnitude, compared as the IEEE bits with
     * the sign cleared (|x| order, -0 == +0, NaN above +inf); ties go to the lower column.
     */
    final class Sparse24 {
        public final int rows, cols;
        /** [rows, 2 * (cols / 4)]: the kept values of the groups. */
        public final Tensor values;
        /** [rows, cols % 4]: the dense tail. */
        public final Tensor tail;
        final ByteBuffer meta;      // rows * (cols / 4) bytes, absolute indexing, direct
        final long metaAddress;     // native address of meta byte 0
        final Backend owner;        // the backend that allocated it (the only one that may use it)

        Sparse24(Backend owner, int rows, int cols, Tensor values, Tensor tail, ByteBuffer meta, long metaAddress) {
            this.owner = owner;
            this.rows = rows;
            this.cols = cols;
            this.values = values;
            this.tail = tail;
            this.meta = meta;
            this.metaAddress = metaAddress;
        }

        public DType dtype() { return values.dtype; }
        public int groups() { return cols / 4; }
        public int tailWidth() { return cols % 4; }

        /**
         * The 2:4 form of a backend whose memory the JVM cannot address (a GPU's): values and tail
         * are that backend's tensors, the metadata bytes live at device address metaAddress.
         */
        public static Sparse24 onDevice(Backend owner, int rows, int cols, Tensor values, Tensor tail, long metaAddress) {
            return new Sparse24(owner, rows, cols, values, tail, null, metaAddress);
        }

        /** Address of metadata byte 0 (host or device memory, as the owning backend allocated it). */
        public long metaAddress() { return metaAddress; }

        /** True when the given backend allocated this (the only backend that may use it). */
        public boolean ownedBy(Backend b) { return owner == b; }

        private ByteBuffer hostMeta() {
            if (meta == null) throw new IllegalStateException(this + " keeps its metadata in device memory; copy it through its backend");
            return meta;
        }

        /** The metadata byte of group g of row r (bits 0-1 = i0, bits 2-3 = i1). */
        public int meta(int r, int g) {
            if (r < 0 || r >= rows || g < 0 || g >= groups()) throw new IndexOutOfBoundsException("meta(" + r + ", " + g + ") of " + this);
            return hostMeta().get(r * groups() + g) & 0xFF;
        }

        /** A copy of the metadata, [rows, G] row-major. */
        public byte[] metaBytes() {
            byte[] b = new byte[rows * groups()];
            hostMeta().get(0, b);
            return b;
        }

        /** Bytes held: values and tail of the backend's dtype plus one metadata byte per group. */
        public long bytes() { return bytes(values.dtype, rows, cols); }

        /** Bytes of the 2:4 form of a [rows, cols] matrix of the given dtype. */
        public static long bytes(DType dtype, int rows, int cols) {
            return (long) rows * (2 * (cols / 4) + cols % 4) * dtype.bytes + (long) rows * (cols / 4);
        }

        @Override
        public String toString() { return "Sparse24[" + rows + ", " + cols + "] " + values.dtype; }
    }

    /** Allocates the 2:4 form of a [rows, cols] matrix (contents unspecified until {@link #prune24}). Counted by {@link #memory()}. */
    Sparse24 allocateSparse24(int rows, int cols);

    /**
     * S = 2:4(X) for X [rows, cols] = [s.rows, s.cols]: per row, in every group of 4 consecutive
     * columns the 2 entries of largest magnitude are kept (the order of {@link Sparse24}), the other
     * 2 dropped; the last cols % 4 columns are kept densely.
     */
    void prune24(Tensor x, Sparse24 s);

    /** X [rows, cols] = S with zeros at the dropped positions. */
    void decompress24(Sparse24 s, Tensor x);

    /** Y [rows, n] = S W + beta Y, W [cols, n] dense; beta = 0 overwrites Y without reading it. */
    void spmm24(Sparse24 s, Tensor w, Tensor y, double beta);

    /** dW [cols, n] = S^T G + beta dW, G [rows, n] dense; beta = 0 overwrites dW without reading it. */
    void spmm24T(Sparse24 s, Tensor g, Tensor dw, double beta);

    // ---- normalisation, position, attention ----

    /** out = weight * x / sqrt(mean(x^2) + eps) per row of x [rows, d]; invRms[rows] saved for backward. */
    void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out, Tensor invRms);

    /** dx = d/dx (writes), dWeight += d/dweight (accumulates). */
    void rmsNormBackward(Tensor x, Tensor weight, Tensor invRms, Tensor dOut, Tensor dx, Tensor dWeight);

    /**
     * Rotary embedding in place on x [batch*seqLen, heads*headDim], rotate-half convention;
     * cos/sin are [seqLen, headDim/2]. inverse=true applies the transposed rotation (the backward).
     */
    void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse);

    /**
     * Causal softmax attention. q, k, v, out are [batch*seqLen, heads*headDim]; probs [batch, heads,
     * seqLen, seqLen] receives softmax(q k^T * scale) with the causal mask (saved for backward).
     */
    void attention(Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, Tensor probs, Tensor out);

    /**
     * Attention of one new position per sequence over a KV cache (generation's decode step):
     * q, out [batch, d]; keys, values [capacity * batch, d] with position t of sequence b in row
     * t * batch + b (positions 0..n-1 are read); scores [batch * heads, capacity] is work space.
     * Per sequence b and head h: out_bh = softmax(scale q_bh K_bh^T) V_bh, the last row of
     * {@link #attention}'s causal softmax over the same keys and values. The default is the slow
     * obvious loop (double accumulation); a backend may run it faster with the same results up to
     * float rounding.
     */
    default void attentionDecode(Tensor q, Tensor keys, Tensor values, int batch, int n, int heads, Tensor scores, Tensor out) {
        int d = q.dim(1), hd = d / heads, cap = scores.dim(1);
        double scale = 1.0 / Math.sqrt(hd);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int x0 = b * d + h * hd, s0 = (b * heads + h) * cap;
                for (int t = 0; t < n; t++) {
                    double dot = 0;
                    for (int i = 0; i < hd; i++) dot += q.get(x0 + i) * keys.get((t * batch + b) * d + h * hd + i);
                    scores.set(s0 + t, dot * scale);
                }
                softmaxRow(scores, s0, n);
                for (int i = 0; i < hd; i++) {
                    double acc = 0;
                    for (int t = 0; t < n; t++) acc += scores.get(s0 + t) * values.get((t * batch + b) * d + h * hd + i);
                    out.set(x0 + i, acc);
                }
            }
        }
    }

    /** p[p0 .. p0+n) = softmax of itself, accumulated in double (as the causal rows of {@link #attention}). */
    static void softmaxRow(Tensor p, int p0, int n) {
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

    /** Backward of {@link #attention}. Writes dq, dk, dv. */
    void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor probs, Tensor dOut, int batch, int seqLen, int heads,
                           Tensor dq, Tensor dk, Tensor dv);

    // ---- embedding and loss ----

    /** out[n] = table[ids[n]]. */
    void embedding(Tensor table, int[] ids, Tensor out);

    /** dTable[ids[n]] += dOut[n]. */
    void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut);

    /**
     * Cross-entropy over logits [rows, vocab] against targets (ignoreIndex skipped). Replaces the
     * logits in place by gradScale * d(sum of losses)/d(logits) and returns the sum of losses.
     */
    double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale);

    // ---- reductions and optimizer ----

    double sumOfSquares(Tensor t);

    /** sum_i a_i b_i, accumulated in double. */
    double dot(Tensor a, Tensor b);

    /**
     * Decoupled-weight-decay Adam (PyTorch AdamW): p -= lr*wd*p; m,v moments; p -= lr * mhat/(sqrt(vhat)+eps).
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
               double weightDecay, long step);

    @Override
    void close();
}
