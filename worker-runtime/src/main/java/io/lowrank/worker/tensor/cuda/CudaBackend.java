package io.lowrank.worker.tensor.cuda;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.MemoryStats;
import io.lowrank.worker.tensor.Storage;
import io.lowrank.worker.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The GPU backend (issue 13): every {@link Backend} operation on float32 tensors in GPU memory,
 * through the kernels and the cuBLASLt wrapper of native-kernels/cuda ({@link CudaNative}).
 * <b>Compiled, not yet run on a GPU</b>: nothing here has executed on an NVIDIA device; on a
 * machine without one, {@link #open} stops with a {@link CudaUnavailableException} that names
 * what is missing.
 *
 * <p>Memory: plain {@code cudaMalloc} per {@link #allocate} (the model allocates everything once);
 * scratch buffers inside the library grow to the largest step and are reused. One compute stream
 * runs every kernel in call order; one copy stream does the host transfers, after the compute
 * stream's work so far. Host memory is touched only by the host transfers ({@link #copyFromHost},
 * {@link #toHostFloats}, {@link #valueAt}), ids and targets, and scalar results (losses, sums).
 *
 * <p>Precision "f32": float32 everywhere, products in COMPUTE_32F (TF32 off). "bf16": the
 * operands of the model's products are cast to bf16 (fp32 accumulation, fp32 results, fp32
 * master weights and AdamW state); attention's internal products stay float32.
 *
 * <p>Loading this class loads no ND4J or JavaCPP class.
 */
public final class CudaBackend implements Backend {
    private final long ctx;
    private final int device;
    private final String precision;
    private final String description;
    private final MemoryStats memory = new MemoryStats();
    private final List<long[]> allocations = new ArrayList<>();  // {device pointer, bytes}
    private long gemmFlops;
    private boolean closed;

    private CudaBackend(long ctx, int device, String precision, String description) {
        this.ctx = ctx;
        this.device = device;
        this.precision = precision;
        this.description = description;
    }

    /**
     * Opens GPU {@code deviceOrdinal} with {@code precision} "f32" (float32, TF32 off) or "bf16"
     * (bf16 operands, fp32 accumulation, fp32 master weights).
     *
     * @throws IllegalArgumentException for another precision or a negative ordinal
     * @throws CudaUnavailableException naming what is missing: the CUDA library in this build, an
     *         NVIDIA driver or GPU, the device ordinal, or cuBLASLt (with the paths searched)
     */
    public static CudaBackend open(int deviceOrdinal, String precision) {
        int prec = precisionCode(precision);
        if (deviceOrdinal < 0) throw new IllegalArgumentException("GPU ordinal must be >= 0, got " + deviceOrdinal);
        CudaNative.load();
        String probe = CudaNative.nProbe(deviceOrdinal);
        int space = probe.indexOf(' ');
        int status = Integer.parseInt(space < 0 ? probe : probe.substring(0, space));
        String message = space < 0 ? "" : probe.substring(space + 1);
        if (status != CudaNative.OK) throw new CudaUnavailableException(message);
        long ctx = CudaNative.nOpen(deviceOrdinal, prec);  // streams, cuBLASLt handle, workspace
        return new CudaBackend(ctx, deviceOrdinal, precision, CudaNative.nDescribe(ctx));
    }

    static int precisionCode(String precision) {
        if ("f32".equals(precision)) return 0;
        if ("bf16".equals(precision)) return 1;
        throw new IllegalArgumentException("precision must be f32 or bf16, got '" + precision + "'");
    }

    private static long addr(Tensor t) { return addr(t, 0); }

    private static long addr(Tensor t, int elementOffset) {
        return t.storage().address() + 4L * (t.offset() + elementOffset);
    }

    private static void sameSize(String op, Tensor a, Tensor b) {
        if (a.size != b.size) throw new IllegalArgumentException(op + ": " + a + " and " + b + " differ in size");
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("CUDA backend on GPU " + device + " is closed");
    }

    @Override public DType dtype() { return DType.F32; }
    @Override public MemoryStats memory() { return memory; }
    @Override public String describe() { return "cuda GPU " + device + " (" + description + "), precision " + precision; }
    @Override public long gemmFlops() { return gemmFlops; }

    @Override
    public Tensor allocate(int... shape) {
        checkOpen();
        long n = 1;
        for (int s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("allocation of " + Arrays.toString(shape) + " exceeds 2^31 elements");
        long bytes = 4L * Math.max(1, n);
        long ptr = CudaNative.nMalloc(ctx, bytes);
        CudaNative.nMemsetZero(ctx, ptr, bytes);
        allocations.add(new long[] {ptr, bytes});
        memory.allocated(bytes);
        return Storage.device(DType.F32, ptr, (int) n, this).tensor(shape);
    }

    // ---- host transfers ----

    @Override
    public void copyFromHost(double[] src, Tensor dst) {
        float[] f = new float[src.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) src[i];
        copyFromHost(f, dst);
    }

    @Override
    public void copyFromHost(float[] src, Tensor dst) {
        if (src.length != dst.size) throw new IllegalArgumentException("array of " + src.length + " elements does not fit " + dst);
        if (src.length > 0) CudaNative.nCopyToDevice(ctx, addr(dst), src, 0, src.length);
    }

    @Override
    public float[] toHostFloats(Tensor t) {
        float[] out = new float[t.size];
        if (out.length > 0) CudaNative.nCopyToHost(ctx, addr(t), out, 0, out.length);
        return out;
    }

    @Override
    public double[] toHostDoubles(Tensor t) {
        float[] f = toHostFloats(t);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Override
    public double valueAt(Tensor t, int i) {
        if (i < 0 || i >= t.size) throw new IndexOutOfBoundsException("element " + i + " of " + t);
        float[] one = new float[1];
        CudaNative.nCopyToHost(ctx, addr(t, i), one, 0, 1);
        return one[0];
    }

    /** A host round trip (one sync point): CR-Net's beta gradient, one scalar per layer and step. */
    @Override
    public void addAt(Tensor t, int i, double v) {
        float sum = (float) valueAt(t, i) + (float) v;   // the float addition of Tensor.add
        float[] one = {sum};
        CudaNative.nCopyToDevice(ctx, addr(t, i), one, 0, 1);
    }

    // ---- dense linear algebra ----

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, int offA, int lda,
                     Tensor b, int offB, int ldb, double beta, Tensor c, int offC, int ldc) {
        if (m == 0 || n == 0) return;
        CudaNative.nGemm(ctx, transA, transB, m, n, k, (float) alpha, addr(a, offA), lda, addr(b, offB), ldb, (float) beta,
                addr(c, offC), ldc);
        gemmFlops += 2L * m * n * k;
    }

    // ---- element-wise ----

    @Override public void fill(Tensor t, double value) { CudaNative.nFill(ctx, addr(t), (float) value, t.size); }

    @Override
    public void copy(Tensor src, Tensor dst) {
        sameSize("copy", src, dst);
        if (src.size > 0) CudaNative.nCopyDevice(ctx, addr(dst), addr(src), 4L * src.size);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        sameSize("add", a, b);
        sameSize("add", a, out);
        CudaNative.nAdd(ctx, addr(a), addr(b), addr(out), out.size);
    }

    @Override
    public void axpy(double alpha, Tensor src, Tensor dst) {
        sameSize("axpy", src, dst);
        CudaNative.nAxpy(ctx, (float) alpha, addr(src), addr(dst), dst.size);
    }

    @Override public void scale(Tensor t, double alpha) { CudaNative.nScale(ctx, addr(t), (float) alpha, t.size); }

    @Override
    public void silu(Tensor h, Tensor z) {
        sameSize("silu", h, z);
        CudaNative.nSilu(ctx, addr(h), addr(z), h.size);
    }

    @Override
    public void siluBackward(Tensor h, Tensor dz, Tensor dh) {
        sameSize("siluBackward", h, dz);
        sameSize("siluBackward", h, dh);
        CudaNative.nSiluBackward(ctx, addr(h), addr(dz), addr(dh), h.size);
    }

    @Override
    public void gatedProduct(Tensor gate, Tensor up, Tensor out, boolean siluOnGate) {
        sameSize("gatedProduct", gate, up);
        sameSize("gatedProduct", gate, out);
        CudaNative.nGated(ctx, addr(gate), addr(up), addr(out), out.size, siluOnGate);
    }

    @Override
    public void gatedProductBackward(Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp, boolean siluOnGate) {
        sameSize("gatedProductBackward", gate, dOut);
        CudaNative.nGatedBackward(ctx, addr(gate), addr(up), addr(dOut), addr(dGate), addr(dUp), gate.size, siluOnGate);
    }

    @Override
    public void reluSquare(Tensor x, Tensor y) {
        sameSize("reluSquare", x, y);
        CudaNative.nReluSquare(ctx, addr(x), addr(y), x.size);
    }

    @Override
    public void reluSquareBackward(Tensor x, Tensor dy, Tensor dx) {
        sameSize("reluSquareBackward", x, dy);
        sameSize("reluSquareBackward", x, dx);
        CudaNative.nReluSquareBackward(ctx, addr(x), addr(dy), addr(dx), x.size);
    }

    // ---- ELAS 2:4 ----

    @Override
    public Sparse24 allocateSparse24(int rows, int cols) {
        int g = cols / 4, t = cols % 4;
        Tensor both = allocate(rows * (2 * g + t));
        Tensor values = both.view(0, rows, 2 * g);
        Tensor tail = both.view(rows * 2 * g, rows, t);
        long metaBytes = Math.max(1L, (long) rows * g);
        long meta = CudaNative.nMalloc(ctx, metaBytes);
        CudaNative.nMemsetZero(ctx, meta, metaBytes);
        allocations.add(new long[] {meta, metaBytes});
        memory.allocated(metaBytes);
        return Sparse24.onDevice(this, rows, cols, values, tail, meta);
    }

    private Sparse24 mine(Sparse24 s) {
        if (!s.ownedBy(this)) throw new IllegalArgumentException(s + " was allocated by another backend");
        return s;
    }

    @Override
    public void prune24(Tensor x, Sparse24 s) {
        mine(s);
        if (x.size != s.rows * s.cols) throw new IllegalArgumentException("prune24: " + x + " is not " + s);
        CudaNative.nPrune24(ctx, addr(x), addr(s.values), s.metaAddress(), addr(s.tail), s.rows, s.cols);
    }

    @Override
    public void decompress24(Sparse24 s, Tensor x) {
        mine(s);
        if (x.size != s.rows * s.cols) throw new IllegalArgumentException("decompress24: " + x + " is not " + s);
        CudaNative.nDecompress24(ctx, addr(s.values), s.metaAddress(), addr(s.tail), addr(x), s.rows, s.cols);
    }

    @Override
    public void spmm24(Sparse24 s, Tensor w, Tensor y, double beta) {
        mine(s);
        int n = w.dim(1);
        if (w.dim(0) != s.cols || y.size != s.rows * n) throw new IllegalArgumentException("spmm24: " + s + " x " + w + " -> " + y);
        CudaNative.nSpmm24(ctx, addr(s.values), s.metaAddress(), addr(s.tail), addr(w), addr(y), s.rows, s.cols, n, (float) beta);
        gemmFlops += 2L * s.rows * n * (2L * (s.cols / 4) + s.cols % 4);
    }

    @Override
    public void spmm24T(Sparse24 s, Tensor g, Tensor dw, double beta) {
        mine(s);
        int n = g.dim(1);
        if (g.dim(0) != s.rows || dw.size != s.cols * n) throw new IllegalArgumentException("spmm24T: " + s + "^T x " + g + " -> " + dw);
        CudaNative.nSpmm24T(ctx, addr(s.values), s.metaAddress(), addr(s.tail), addr(g), addr(dw), s.rows, s.cols, n, (float) beta);
        gemmFlops += 2L * s.rows * n * (2L * (s.cols / 4) + s.cols % 4);
    }

    // ---- normalisation, position, attention ----

    @Override
    public void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out, Tensor invRms) {
        int d = x.dim(-1), rows = x.size / d;
        CudaNative.nRmsNorm(ctx, addr(x), addr(weight), addr(out), addr(invRms), rows, d, (float) eps);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, Tensor invRms, Tensor dOut, Tensor dx, Tensor dWeight) {
        int d = x.dim(-1), rows = x.size / d;
        CudaNative.nRmsNormBackward(ctx, addr(x), addr(weight), addr(invRms), addr(dOut), addr(dx), addr(dWeight), rows, d);
    }

    @Override
    public void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        int rows = x.dim(0), hd = x.dim(1) / heads;
        CudaNative.nRope(ctx, addr(x), addr(cos), addr(sin), rows, seqLen, heads, hd, inverse);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, Tensor probs, Tensor out) {
        int hd = q.dim(1) / heads;
        CudaNative.nAttention(ctx, addr(q), addr(k), addr(v), batch, seqLen, heads, hd, addr(probs), addr(out));
        gemmFlops += 4L * batch * heads * seqLen * seqLen * hd;
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor probs, Tensor dOut, int batch, int seqLen, int heads,
                                  Tensor dq, Tensor dk, Tensor dv) {
        int hd = q.dim(1) / heads;
        CudaNative.nAttentionBackward(ctx, addr(q), addr(k), addr(v), addr(probs), addr(dOut), batch, seqLen, heads, hd,
                addr(dq), addr(dk), addr(dv));
        gemmFlops += 8L * batch * heads * seqLen * seqLen * hd;
    }

    // ---- embedding and loss ----

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        int dim = table.dim(1);
        if (out.size != ids.length * dim) throw new IllegalArgumentException("embedding: " + ids.length + " ids into " + out);
        for (int id : ids) {
            if (id < 0 || id >= table.dim(0)) throw new IllegalArgumentException("token id " + id + " outside [0, " + table.dim(0) + ")");
        }
        CudaNative.nEmbedding(ctx, addr(table), ids, addr(out), ids.length, dim);
    }

    @Override
    public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        CudaNative.nEmbeddingBackward(ctx, addr(dTable), ids, addr(dOut), ids.length, dTable.dim(1), dTable.dim(0));
    }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale) {
        int rows = logits.dim(0), vocab = logits.dim(1);
        if (targets.length != rows) throw new IllegalArgumentException(targets.length + " targets for " + logits);
        for (int t : targets) {
            if (t != ignoreIndex && (t < 0 || t >= vocab)) throw new IllegalArgumentException("target " + t + " outside [0, " + vocab + ")");
        }
        return CudaNative.nCrossEntropy(ctx, addr(logits), targets, rows, vocab, ignoreIndex, (float) gradScale);
    }

    // ---- reductions and optimizer ----

    @Override public double sumOfSquares(Tensor t) { return CudaNative.nSumOfSquares(ctx, addr(t), t.size); }

    @Override
    public double dot(Tensor a, Tensor b) {
        sameSize("dot", a, b);
        return CudaNative.nDot(ctx, addr(a), addr(b), a.size);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
                      double weightDecay, long step) {
        sameSize("adamw", param, grad);
        CudaNative.nAdamw(ctx, addr(param), addr(grad), addr(m), addr(v), param.size, lr, beta1, beta2, eps, weightDecay, step);
    }

    /** Waits for every queued kernel (timing; the host transfers already wait for them). */
    public void synchronize() { CudaNative.nSynchronize(ctx); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        CudaNative.nSynchronize(ctx);
        for (long[] a : allocations) {
            CudaNative.nFree(ctx, a[0]);
            memory.released(a[1]);
        }
        allocations.clear();
        CudaNative.nClose(ctx);
    }
}
