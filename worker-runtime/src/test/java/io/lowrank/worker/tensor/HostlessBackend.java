package io.lowrank.worker.tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A test backend whose tensors have no host buffers, like a GPU backend's: every value lives in a
 * hidden CPU backend, reached only through this backend's operations and host transfers. Model,
 * optimizer and checkpoint code that reads or writes tensor values directly (Tensor.get/set,
 * floatBuffer) fails on its tensors, so running them here proves they use the Backend seam only.
 * Results are the hidden CPU backend's, bit for bit.
 */
final class HostlessBackend implements Backend {
    private final Backend cpu;
    private final Map<Storage, Tensor> backing = new IdentityHashMap<>();   // hostless storage -> whole CPU storage
    private final Map<Sparse24, Sparse24> sparse = new IdentityHashMap<>();
    private long nextAddress = 1L << 40;   // fake, never dereferenced

    HostlessBackend(Backend cpu) { this.cpu = cpu; }

    private Storage hostless(Tensor cpuWhole) {
        Storage s = Storage.device(cpuWhole.dtype, nextAddress, cpuWhole.size, this);
        nextAddress += 1L << 32;
        backing.put(s, cpuWhole);
        return s;
    }

    /** The CPU tensor behind a hostless one. */
    private Tensor c(Tensor t) {
        Tensor whole = backing.get(t.storage());
        if (whole == null) throw new IllegalArgumentException(t + " was not allocated by this backend");
        return whole.view(t.offset(), t.shape());
    }

    private Sparse24 c(Sparse24 s) {
        Sparse24 x = sparse.get(s);
        if (x == null) throw new IllegalArgumentException(s + " was not allocated by this backend");
        return x;
    }

    @Override public DType dtype() { return cpu.dtype(); }
    @Override public MemoryStats memory() { return cpu.memory(); }
    @Override public String describe() { return "hostless(" + cpu.describe() + ")"; }
    @Override public long gemmFlops() { return cpu.gemmFlops(); }

    @Override
    public Tensor allocate(int... shape) {
        Tensor t = cpu.allocate(shape);
        return hostless(t.storage().tensor(t.storage().length())).tensor(shape);
    }

    @Override public void copyFromHost(double[] src, Tensor dst) { cpu.copyFromHost(src, c(dst)); }
    @Override public void copyFromHost(float[] src, Tensor dst) { cpu.copyFromHost(src, c(dst)); }
    @Override public float[] toHostFloats(Tensor t) { return cpu.toHostFloats(c(t)); }
    @Override public double[] toHostDoubles(Tensor t) { return cpu.toHostDoubles(c(t)); }
    @Override public double valueAt(Tensor t, int i) { return cpu.valueAt(c(t), i); }
    @Override public void addAt(Tensor t, int i, double v) { cpu.addAt(c(t), i, v); }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, int offA, int lda,
                     Tensor b, int offB, int ldb, double beta, Tensor cc, int offC, int ldc) {
        cpu.gemm(transA, transB, m, n, k, alpha, c(a), offA, lda, c(b), offB, ldb, beta, c(cc), offC, ldc);
    }

    private Tensor[] c(Tensor[] ts) {
        Tensor[] out = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) out[i] = c(ts[i]);
        return out;
    }

    // the CPU backend fuses these: delegate them whole so that rounding stays the same
    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor cc, double beta) {
        cpu.matmul(c(a), transA, c(b), transB, c(cc), beta);
    }

    @Override
    public void matmulSharedA(Tensor a, boolean transA, Tensor[] b, boolean transB, Tensor[] cc, double beta) {
        cpu.matmulSharedA(c(a), transA, c(b), transB, c(cc), beta);
    }

    @Override
    public void matmulSumK(Tensor[] a, boolean transA, Tensor[] b, boolean transB, Tensor cc, double beta) {
        cpu.matmulSumK(c(a), transA, c(b), transB, c(cc), beta);
    }

    @Override
    public void colaBottleneckForward(Tensor x, Tensor[] a, Tensor[] h, Tensor[] z) {
        cpu.colaBottleneckForward(c(x), c(a), c(h), c(z));
    }

    @Override
    public void colaBottleneckBackward(Tensor dy, Tensor b, Tensor h, Tensor dh) {
        cpu.colaBottleneckBackward(c(dy), c(b), c(h), c(dh));
    }

    @Override public void fill(Tensor t, double value) { cpu.fill(c(t), value); }
    @Override public void copy(Tensor src, Tensor dst) { cpu.copy(c(src), c(dst)); }
    @Override public void add(Tensor a, Tensor b, Tensor out) { cpu.add(c(a), c(b), c(out)); }
    @Override public void axpy(double alpha, Tensor src, Tensor dst) { cpu.axpy(alpha, c(src), c(dst)); }
    @Override public void scale(Tensor t, double alpha) { cpu.scale(c(t), alpha); }
    @Override public void silu(Tensor h, Tensor z) { cpu.silu(c(h), c(z)); }
    @Override public void siluBackward(Tensor h, Tensor dz, Tensor dh) { cpu.siluBackward(c(h), c(dz), c(dh)); }
    @Override public void gatedProduct(Tensor g, Tensor u, Tensor out, boolean s) { cpu.gatedProduct(c(g), c(u), c(out), s); }

    @Override
    public void gatedProductBackward(Tensor g, Tensor u, Tensor dOut, Tensor dG, Tensor dU, boolean s) {
        cpu.gatedProductBackward(c(g), c(u), c(dOut), c(dG), c(dU), s);
    }

    @Override public void reluSquare(Tensor x, Tensor y) { cpu.reluSquare(c(x), c(y)); }
    @Override public void reluSquareBackward(Tensor x, Tensor dy, Tensor dx) { cpu.reluSquareBackward(c(x), c(dy), c(dx)); }

    @Override
    public Sparse24 allocateSparse24(int rows, int cols) {
        Sparse24 inner = cpu.allocateSparse24(rows, cols);
        Storage s = hostless(inner.values.storage().tensor(inner.values.storage().length()));
        Tensor whole = s.tensor(s.length());
        Tensor values = whole.view(inner.values.offset(), inner.values.shape());
        Tensor tail = whole.view(inner.tail.offset(), inner.tail.shape());
        Sparse24 outer = Sparse24.onDevice(this, rows, cols, values, tail, nextAddress++);
        sparse.put(outer, inner);
        return outer;
    }

    @Override public void prune24(Tensor x, Sparse24 s) { cpu.prune24(c(x), c(s)); }
    @Override public void decompress24(Sparse24 s, Tensor x) { cpu.decompress24(c(s), c(x)); }
    @Override public void spmm24(Sparse24 s, Tensor w, Tensor y, double beta) { cpu.spmm24(c(s), c(w), c(y), beta); }
    @Override public void spmm24T(Sparse24 s, Tensor g, Tensor dw, double beta) { cpu.spmm24T(c(s), c(g), c(dw), beta); }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out, Tensor invRms) {
        cpu.rmsNorm(c(x), c(weight), eps, c(out), c(invRms));
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, Tensor invRms, Tensor dOut, Tensor dx, Tensor dWeight) {
        cpu.rmsNormBackward(c(x), c(weight), c(invRms), c(dOut), c(dx), c(dWeight));
    }

    @Override
    public void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        cpu.rope(c(x), seqLen, heads, c(cos), c(sin), inverse);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, Tensor probs, Tensor out) {
        cpu.attention(c(q), c(k), c(v), batch, seqLen, heads, c(probs), c(out));
    }

    @Override
    public void attentionDecode(Tensor q, Tensor keys, Tensor values, int batch, int n, int heads, Tensor scores, Tensor out) {
        cpu.attentionDecode(c(q), c(keys), c(values), batch, n, heads, c(scores), c(out));
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor probs, Tensor dOut, int batch, int seqLen, int heads,
                                  Tensor dq, Tensor dk, Tensor dv) {
        cpu.attentionBackward(c(q), c(k), c(v), c(probs), c(dOut), batch, seqLen, heads, c(dq), c(dk), c(dv));
    }

    @Override public void embedding(Tensor table, int[] ids, Tensor out) { cpu.embedding(c(table), ids, c(out)); }
    @Override public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) { cpu.embeddingBackward(c(dTable), ids, c(dOut)); }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale) {
        return cpu.crossEntropy(c(logits), targets, ignoreIndex, gradScale);
    }

    @Override public double sumOfSquares(Tensor t) { return cpu.sumOfSquares(c(t)); }
    @Override public double dot(Tensor a, Tensor b) { return cpu.dot(c(a), c(b)); }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
                      double weightDecay, long step) {
        cpu.adamw(c(param), c(grad), c(m), c(v), lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override public void close() { cpu.close(); }
}
