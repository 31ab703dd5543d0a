package io.lowrank.worker.tensor;

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

    // ---- dense linear algebra ----

    /**
     * C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, on strided sub-matrices: element (i,j) of
     * the untransposed A lives at a.offset + offA + i*lda + j (likewise B and C).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
              Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
              double beta, Tensor c, int offC, int ldc);

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
     * 2:4 pruning of X [rows, cols] into its compressed form. Per row, in every group of 4
     * consecutive columns the 2 entries of largest magnitude are kept (ties: the lower column wins),
     * the other 2 are dropped; the last cols % 4 columns (the tail) are kept densely.
     * <ul>
     *   <li>{@code values [rows, values24Cols(cols)]}: per group its 2 kept values, lower column
     *       first (2 * (cols/4) values), then the tail values;</li>
     *   <li>{@code meta [rows, meta24Cols(cols)]}: the kept positions, 2 bits each (0..3 inside the
     *       group): group g of a row is the nibble {@code i0 | i1 << 2} (i0 &lt; i1) at bits
     *       {@code 4 * (g % 4)} of word {@code g / 4}. A word (16 bits) is stored as an exact
     *       integer value in the float32/float64 element.</li>
     * </ul>
     */
    void prune24(Tensor x, Tensor values, Tensor meta);

    /** X [rows, cols] = the 2:4 matrix (values, meta) with zeros at the dropped positions. */
    void decompress24(Tensor values, Tensor meta, Tensor x);

    /** Y [rows, n] = S W + beta Y, S [rows, cols] in 2:4 form (values, meta), W [cols, n] dense. */
    void spmm24(Tensor values, Tensor meta, Tensor w, Tensor y, double beta);

    /** dW [cols, n] = S^T G + beta dW, S [rows, cols] in 2:4 form (values, meta), G [rows, n] dense. */
    void spmm24T(Tensor values, Tensor meta, Tensor g, Tensor dw, double beta);

    /** Columns of the values of a 2:4 compressed matrix with {@code cols} columns: half the groups' plus the tail. */
    static int values24Cols(int cols) { return 2 * (cols / 4) + cols % 4; }

    /** Columns of the metadata of a 2:4 compressed matrix: one element per 4 groups (16 bits). */
    static int meta24Cols(int cols) { return (cols / 4 + 3) / 4; }

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
