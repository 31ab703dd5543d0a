package io.lowrank.worker.tensor;

import io.lowrank.nativekernels.Gemm;
import io.lowrank.nativekernels.NativeLibrary;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.openblas.global.openblas_nolapack.*;

/**
 * The CPU backend: memory comes from ND4J (off-heap, the same allocator the rest of ND4J uses),
 * matrix products go on raw addresses (so strided per-head views need no copies) to the native
 * kernels' sgemm on AVX-512 CPUs (float32; {@link #GEMM_PROPERTY}) or to the OpenBLAS that ND4J
 * loads, element-wise kernels are the native fused kernels (float32) or plain loops written once
 * for both float32 and float64.
 */
public final class Nd4jCpuBackend implements Backend {
    private final DType dtype;
    private final MemoryStats memory = new MemoryStats();
    private final List<INDArray> allocations = new ArrayList<>();
    // Reusable pointers whose address is set per call: no Pointer objects are created per gemm.
    // One set per kernel thread, since attention issues gemms from every kernel thread at once.
    private final GemmPointers[] pointers;
    private final MovableFloatPointer l1a = new MovableFloatPointer(), l1b = new MovableFloatPointer();   // level-1 operands
    private final int threads;
    private Tensor attentionScratch;   // [parts, seqLen, seqLen], grown on demand, once per shape
    private final Kernels kernels;
    private final WorkerPool pool;
    private final FloatKernels fk;   // float32 fast paths; null for float64
    private final boolean nativeGemm; // float32 products in the native kernels' sgemm instead of OpenBLAS
    private boolean closed;
    private final List<ByteBuffer> metaBuffers = new ArrayList<>();   // 2:4 metadata (direct buffers)

    /** System property: {@code -Dlowrank.native.disable=true} keeps the 2:4 and fused element-wise operations of backends built afterwards in Java. */
    public static final String NATIVE_DISABLE_PROPERTY = "lowrank.native.disable";

    /**
     * System property {@code lowrank.gemm}: {@code auto} (default: the native kernels' sgemm where
     * it beats OpenBLAS, i.e. on AVX-512 CPUs, see {@link Gemm#preferredOverOpenBlas()}),
     * {@code openblas}, or {@code native} (whenever the library is loaded).
     */
    public static final String GEMM_PROPERTY = "lowrank.gemm";

    /** Which library runs the float32 products. */
    public enum GemmEngine {
        AUTO, OPENBLAS, NATIVE;

        /** From {@link #GEMM_PROPERTY}; an unknown value is an error naming the property. */
        public static GemmEngine fromProperty() {
            String v = System.getProperty(GEMM_PROPERTY, "auto");
            try {
                return valueOf(v.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-D" + GEMM_PROPERTY + "=" + v + ": expected auto, openblas or native");
            }
        }
    }

    public Nd4jCpuBackend(DType dtype) {
        this(dtype, Runtime.getRuntime().availableProcessors());
    }

    /**
     * threads: OpenBLAS, kernel-thread and native-kernel threads. The float32 2:4 operations and the
     * fused element-wise ops run in the native kernels (io.lowrank:native-kernels) unless {@code
     * -Dlowrank.native.disable=true} is set when the backend is built, or the library did not load
     * (it says so once, on stderr): then the 2:4 operations in the bit-identical Java implementation
     * and the element-wise ops in the FloatKernels Java loops (same equations, within float rounding).
     */
    public Nd4jCpuBackend(DType dtype, int threads) {
        this(dtype, threads, nativeKernelsByDefault());
    }

    /** Whether backends use the native kernels unless told otherwise: not when -D{@value #NATIVE_DISABLE_PROPERTY}=true. */
    public static boolean nativeKernelsByDefault() {
        return !Boolean.getBoolean(NATIVE_DISABLE_PROPERTY);
    }

    /** As {@link #Nd4jCpuBackend(DType, int)}; nativeKernels=false keeps the float32 2:4 and fused element-wise operations in Java. */
    public Nd4jCpuBackend(DType dtype, int threads, boolean nativeKernels) {
        this(dtype, threads, nativeKernels, GemmEngine.fromProperty());
    }

    /**
     * As {@link #Nd4jCpuBackend(DType, int, boolean)}, with the float32 products on the given
     * engine: NATIVE needs the native kernels (nativeKernels and the library loaded), AUTO takes
     * them where they beat OpenBLAS. float64 products always run in OpenBLAS.
     */
    public Nd4jCpuBackend(DType dtype, int threads, boolean nativeKernels, GemmEngine gemm) {
        this.dtype = dtype;
        Nd4j.create(1); // loads the native library and OpenBLAS
        if (threads > 0) {
            blas_set_num_threads(threads);
        }
        this.kernels = new Kernels();
        this.threads = Math.max(1, threads);
        this.pool = new WorkerPool(this.threads);
        this.pointers = new GemmPointers[pool.parts()];
        for (int i = 0; i < pointers.length; i++) pointers[i] = new GemmPointers();
        boolean useNative = dtype == DType.F32 && nativeKernels && NativeLibrary.isAvailable();
        if (useNative) io.lowrank.nativekernels.Sparse24.setNumThreads(this.threads);
        this.fk = dtype == DType.F32 ? new FloatKernels(pool, this.threads, useNative) : null;
        if (gemm == GemmEngine.NATIVE && !useNative) {
            throw new IllegalStateException("-D" + GEMM_PROPERTY + "=native needs the native kernels for float32, but "
                    + (dtype != DType.F32 ? "this backend is " + dtype : !nativeKernels ? "they are disabled" : NativeLibrary.unavailableReason()));
        }
        this.nativeGemm = useNative && (gemm == GemmEngine.NATIVE || (gemm == GemmEngine.AUTO && Gemm.preferredOverOpenBlas()));
    }

    /** Whether the float32 products run in the native kernels' sgemm (else OpenBLAS). */
    public boolean nativeGemm() { return nativeGemm; }

    @Override public DType dtype() { return dtype; }
    @Override public MemoryStats memory() { return memory; }

    @Override
    public String describe() {
        return "nd4j-cpu " + dtype + " (gemm " + (nativeGemm ? "native " + NativeLibrary.describe() : "OpenBLAS") + ", OpenBLAS threads=" + blas_get_num_threads()
                + (fk == null ? "" : ", 2:4 + fused kernels " + (nativeSparse24() ? NativeLibrary.describe() : "java")) + ")";
    }

    @Override
    public Tensor allocate(int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("allocation of " + n + " elements exceeds 2^31");
        long elems = Math.max(1, n);
        INDArray arr = Nd4j.zeros(dtype == DType.F32 ? DataType.FLOAT : DataType.DOUBLE, elems);
        Pointer p = arr.data().addressPointer();
        Storage s = new Storage(dtype, p.address(), (int) elems,
                dtype == DType.F32 ? arr.data().asNioFloat() : null,
                dtype == DType.F64 ? arr.data().asNioDouble() : null, arr);
        allocations.add(arr);
        memory.allocated(elems * dtype.bytes);
        return new Tensor(s, 0, shape);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                     Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                     double beta, Tensor c, int offC, int ldc) {
        gemmOn(0, threads, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
    }

    // Part arrays of the grouped native products, filled per call (no allocation in a step). Like
    // gemm's pointers[0], for the caller's thread only.
    private final long[] partExtent = new long[Gemm.MAX_PARTS], partA = new long[Gemm.MAX_PARTS],
            partLda = new long[Gemm.MAX_PARTS], partB = new long[Gemm.MAX_PARTS], partLdb = new long[Gemm.MAX_PARTS],
            partC = new long[Gemm.MAX_PARTS], partLdc = new long[Gemm.MAX_PARTS], partAux = new long[Gemm.MAX_PARTS],
            partLdaux = new long[Gemm.MAX_PARTS];

    /** Native sgemm: one product for all parts (sgemm_bench's grouped table: 1.03-1.11x at 60m). */
    @Override
    public void matmulSharedA(Tensor a, boolean transA, Tensor[] b, boolean transB, Tensor[] c, double beta) {
        if (!nativeGemm || b.length < 1 || b.length > Gemm.MAX_PARTS || b.length != c.length) {
            Backend.super.matmulSharedA(a, transA, b, transB, c, beta);
            return;
        }
        sharedA("matmulSharedA", a, transA, b, transB, c, beta, Gemm.EPI_NONE, null);
    }

    /** Native sgemm: the SiLU in the product's epilogue, while the tile of h is in registers. */
    @Override
    public void colaBottleneckForward(Tensor x, Tensor[] a, Tensor[] h, Tensor[] z) {
        if (!nativeGemm || a.length < 1 || a.length > Gemm.MAX_PARTS || a.length != h.length || a.length != z.length) {
            Backend.super.colaBottleneckForward(x, a, h, z);
            return;
        }
        sharedA("colaBottleneckForward", x, false, a, false, h, 0.0, Gemm.EPI_SILU, z);
    }

    /** c[g] = op(a) op(b[g]) + beta c[g] in one native product, with the epilogue into aux[g] (or none, aux null). */
    private void sharedA(String op, Tensor a, boolean transA, Tensor[] b, boolean transB, Tensor[] c, double beta,
                         int epilogue, Tensor[] aux) {
        int m = transA ? a.dim(1) : a.dim(0), k = transA ? a.dim(0) : a.dim(1);
        checkMatrix("A", a, 0, a.dim(0), a.dim(1), a.dim(1));
        long flops = 0;
        for (int g = 0; g < b.length; g++) {
            int kb = transB ? b[g].dim(1) : b[g].dim(0), n = transB ? b[g].dim(0) : b[g].dim(1);
            if (kb != k || c[g].dim(0) != m || c[g].dim(1) != n || (aux != null && (aux[g].dim(0) != m || aux[g].dim(1) != n))) {
                throw new IllegalArgumentException(op + " shapes do not agree in part " + g + ": " + a + (transA ? "^T" : "")
                        + " x " + b[g] + (transB ? "^T" : "") + " -> " + c[g] + (aux != null ? ", epilogue -> " + aux[g] : ""));
            }
            checkMatrix("B", b[g], 0, b[g].dim(0), b[g].dim(1), b[g].dim(1));
            checkMatrix("C", c[g], 0, m, n, n);
            partExtent[g] = n;
            partB[g] = addressOf(b[g], 0);
            partLdb[g] = b[g].dim(1);
            partC[g] = addressOf(c[g], 0);
            partLdc[g] = n;
            if (aux != null) {
                checkMatrix("epilogue output", aux[g], 0, m, n, n);
                partAux[g] = addressOf(aux[g], 0);
                partLdaux[g] = n;
            }
            flops += 2L * m * n * k;
        }
        pointers[0].flops += flops;
        Gemm.sgemmSharedA(transA, transB, m, k, 1f, addressOf(a, 0), a.dim(1), b.length, partExtent, partB, partLdb,
                (float) beta, partC, partLdc, epilogue, partAux, partLdaux, threads);
    }

    /** Native sgemm: SiLU' applied in the product's epilogue. */
    @Override
    public void colaBottleneckBackward(Tensor dy, Tensor b, Tensor h, Tensor dh) {
        if (!nativeGemm) {
            Backend.super.colaBottleneckBackward(dy, b, h, dh);
            return;
        }
        int m = dy.dim(0), k = dy.dim(1), n = b.dim(0);
        if (b.dim(1) != k || h.dim(0) != m || h.dim(1) != n || dh.dim(0) != m || dh.dim(1) != n) {
            throw new IllegalArgumentException("colaBottleneckBackward shapes do not agree: " + dy + " x " + b + "^T -> " + dh + ", h " + h);
        }
        checkMatrix("dy", dy, 0, m, k, k);
        checkMatrix("B", b, 0, n, k, k);
        checkMatrix("h", h, 0, m, n, n);
        checkMatrix("dh", dh, 0, m, n, n);
        pointers[0].flops += 2L * m * n * k;
        Gemm.sgemmEp(false, true, m, n, k, 1f, addressOf(dy, 0), k, addressOf(b, 0), k, 0f, addressOf(dh, 0), n,
                Gemm.EPI_SILU_GRAD, addressOf(h, 0), n, threads);
    }

    /** Native sgemm: C read and written once per k slice of the summed k, not once per term. */
    @Override
    public void matmulSumK(Tensor[] a, boolean transA, Tensor[] b, boolean transB, Tensor c, double beta) {
        if (!nativeGemm || a.length < 1 || a.length > Gemm.MAX_PARTS || a.length != b.length) {
            Backend.super.matmulSumK(a, transA, b, transB, c, beta);
            return;
        }
        int m = c.dim(0), n = c.dim(1);
        checkMatrix("C", c, 0, m, n, n);
        long flops = 0;
        for (int g = 0; g < a.length; g++) {
            int ma = transA ? a[g].dim(1) : a[g].dim(0), k = transA ? a[g].dim(0) : a[g].dim(1);
            int kb = transB ? b[g].dim(1) : b[g].dim(0), nb = transB ? b[g].dim(0) : b[g].dim(1);
            if (ma != m || kb != k || nb != n) {
                throw new IllegalArgumentException("matmulSumK shapes do not agree in term " + g + ": " + a[g] + (transA ? "^T" : "")
                        + " x " + b[g] + (transB ? "^T" : "") + " -> " + c);
            }
            checkMatrix("A", a[g], 0, a[g].dim(0), a[g].dim(1), a[g].dim(1));
            checkMatrix("B", b[g], 0, b[g].dim(0), b[g].dim(1), b[g].dim(1));
            partExtent[g] = k;
            partA[g] = addressOf(a[g], 0);
            partLda[g] = a[g].dim(1);
            partB[g] = addressOf(b[g], 0);
            partLdb[g] = b[g].dim(1);
            flops += 2L * m * n * k;
        }
        pointers[0].flops += flops;
        Gemm.sgemmSumK(transA, transB, m, n, a.length, partExtent, 1f, partA, partLda, partB, partLdb, (float) beta,
                addressOf(c, 0), n, threads);
    }

    /**
     * gemm from kernel thread {@code part} inside a parallel section (attention's per-head
     * products): every part issues its own, so each native product stays on its part's thread.
     */
    private void gemmInPart(int part, boolean transA, boolean transB, int m, int n, int k, double alpha,
                            Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                            double beta, Tensor c, int offC, int ldc) {
        gemmOn(part, 1, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
    }

    /** part: whose pointer set (one per kernel thread); maxThreads: the native product's thread cap. */
    private void gemmOn(int part, int maxThreads, boolean transA, boolean transB, int m, int n, int k, double alpha,
                        Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                        double beta, Tensor c, int offC, int ldc) {
        GemmPointers p = pointers[part];
        checkMatrix("A", a, offA, transA ? k : m, transA ? m : k, lda);
        checkMatrix("B", b, offB, transB ? n : k, transB ? k : n, ldb);
        checkMatrix("C", c, offC, m, n, ldc);
        if (m == 0 || n == 0) return;
        p.flops += 2L * m * n * k;
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        if (nativeGemm) {
            Gemm.sgemm(transA, transB, m, n, k, (float) alpha, addressOf(a, offA), lda, addressOf(b, offB), ldb,
                    (float) beta, addressOf(c, offC), ldc, maxThreads);
        } else if (dtype == DType.F32) {
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float) alpha,
                    p.fa.at(a, offA, 4), lda, p.fb.at(b, offB, 4), ldb, (float) beta, p.fc.at(c, offC, 4), ldc);
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha,
                    p.da.at(a, offA, 8), lda, p.db.at(b, offB, 8), ldb, beta, p.dc.at(c, offC, 8), ldc);
        }
    }

    private static long addressOf(Tensor t, int off) { return t.storage.address + 4L * (t.offset + off); }

    private void checkMatrix(String name, Tensor t, int off, int rows, int cols, int ld) {
        if (t.dtype != dtype) throw new IllegalArgumentException(name + " is " + t.dtype + " but backend is " + dtype);
        if (ld < Math.max(1, cols)) throw new IllegalArgumentException(name + ": leading dimension " + ld + " < columns " + cols);
        long last = (long) off + (long) (rows - 1) * ld + cols;
        if (rows > 0 && cols > 0 && (off < 0 || last > t.size)) {
            throw new IllegalArgumentException(name + ": [" + rows + "x" + cols + ", ld " + ld + "] at offset " + off + " exceeds " + t);
        }
    }

    // ---- element-wise: float32 streams through OpenBLAS level 1 and memset/memcpy (3-5x the Java
    // loops over FloatBuffers for axpy and scale, 1.5-3x for fill and the sums: docs/bench/Level1.java);
    // float64 (the checks) through Kernels, which holds the plain loops. Called from the caller's
    // thread only, with this backend's own pair of pointers.

    @Override public void fill(Tensor t, double value) {
        if (dtype == DType.F32 && value == 0.0) Pointer.memset(l1a.at(t, 0, 4), 0, 4L * t.size);
        else if (fk != null) fk.fill(t, value);
        else kernels.fill(t, value);
    }
    @Override public void copy(Tensor src, Tensor dst) {
        Kernels.sameSize(src, dst);
        if (dtype != DType.F32) { kernels.copy(src, dst); return; }
        if (src.storage == dst.storage && src.offset == dst.offset) return;
        Pointer.memcpy(l1a.at(dst, 0, 4), l1b.at(src, 0, 4), 4L * src.size);
    }
    @Override public void add(Tensor a, Tensor b, Tensor out) {
        Kernels.sameSize(a, b); Kernels.sameSize(a, out);
        if (dtype != DType.F32) { kernels.add(a, b, out); return; }
        boolean outIsB = out.storage == b.storage && out.offset == b.offset;
        if (!outIsB) copy(a, out);                                     // out = a, then out += b
        axpy(1.0, outIsB ? a : b, out);
    }
    @Override public void axpy(double alpha, Tensor src, Tensor dst) {
        Kernels.sameSize(src, dst);
        if (dtype == DType.F32) cblas_saxpy(src.size, (float) alpha, l1a.at(src, 0, 4), 1, l1b.at(dst, 0, 4), 1);
        else kernels.axpy(alpha, src, dst);
    }
    @Override public void scale(Tensor t, double alpha) {
        if (dtype == DType.F32) cblas_sscal(t.size, (float) alpha, l1a.at(t, 0, 4), 1);
        else kernels.scale(t, alpha);
    }
    @Override public void silu(Tensor h, Tensor z) { Kernels.sameSize(h, z); if (fk != null) fk.silu(h, z); else kernels.silu(h, z); }
    @Override public void siluBackward(Tensor h, Tensor dz, Tensor dh) {
        Kernels.sameSize(h, dz); Kernels.sameSize(h, dh);
        if (fk != null) fk.siluBackward(h, dz, dh); else kernels.siluBackward(h, dz, dh);
    }
    @Override public void gatedProduct(Tensor g, Tensor u, Tensor out, boolean siluOnGate) {
        Kernels.sameSize(g, u); Kernels.sameSize(g, out);
        if (fk != null) fk.gatedProduct(g, u, out, siluOnGate); else kernels.gatedProduct(g, u, out, siluOnGate);
    }
    @Override public void gatedProductBackward(Tensor g, Tensor u, Tensor dOut, Tensor dG, Tensor dU, boolean siluOnGate) {
        Kernels.sameSize(g, u); Kernels.sameSize(g, dOut); Kernels.sameSize(g, dG); Kernels.sameSize(g, dU);
        if (fk != null) fk.gatedProductBackward(g, u, dOut, dG, dU, siluOnGate); else kernels.gatedProductBackward(g, u, dOut, dG, dU, siluOnGate);
    }
    @Override public void rmsNorm(Tensor x, Tensor w, double eps, Tensor out, Tensor invRms) {
        Kernels.sameSize(x, out);
        if (invRms.size * w.size != x.size) throw new IllegalArgumentException("rmsNorm: " + x + " with weight " + w + " needs invRms of " + x.size / w.size);
        if (fk != null) fk.rmsNorm(x, w, eps, out, invRms); else kernels.rmsNorm(x, w, eps, out, invRms);
    }
    @Override public void rmsNormBackward(Tensor x, Tensor w, Tensor invRms, Tensor dOut, Tensor dx, Tensor dW) {
        Kernels.sameSize(x, dOut); Kernels.sameSize(x, dx); Kernels.sameSize(w, dW);
        if (fk != null) fk.rmsNormBackward(x, w, invRms, dOut, dx, dW); else kernels.rmsNormBackward(x, w, invRms, dOut, dx, dW);
    }
    @Override public void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        if (x.dim(1) % heads != 0 || (x.dim(1) / heads) % 2 != 0 || cos.size != seqLen * (x.dim(1) / heads / 2) || sin.size != cos.size || x.dim(0) % seqLen != 0) {
            throw new IllegalArgumentException("rope: " + x + " with " + heads + " heads, seq_len " + seqLen + " and tables " + cos + ", " + sin);
        }
        if (fk != null) fk.rope(x, seqLen, heads, cos, sin, inverse); else kernels.rope(x, seqLen, heads, cos, sin, inverse);
    }
    @Override public void reluSquare(Tensor x, Tensor y) {
        Kernels.sameSize(x, y);
        if (fk != null) fk.reluSquare(x, y); else kernels.reluSquare(x, y);
    }
    @Override public void reluSquareBackward(Tensor x, Tensor dy, Tensor dx) {
        Kernels.sameSize(x, dy); Kernels.sameSize(x, dx);
        if (fk != null) fk.reluSquareBackward(x, dy, dx); else kernels.reluSquareBackward(x, dy, dx);
    }
    @Override
    public Sparse24 allocateSparse24(int rows, int cols) {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("allocateSparse24: negative shape [" + rows + ", " + cols + "]");
        int groups = cols / 4, tw = cols % 4;
        long elems = (long) rows * (2L * groups + tw), metaBytes = (long) rows * groups;
        if (elems > Integer.MAX_VALUE || metaBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("allocateSparse24: [" + rows + ", " + cols + "] exceeds 2^31 elements");
        }
        Tensor all = allocate((int) elems);                            // values, then the tail: one allocation
        Tensor values = all.view(0, rows, 2 * groups), tail = all.view(rows * 2 * groups, rows, tw);
        ByteBuffer meta = ByteBuffer.allocateDirect((int) Math.max(1, metaBytes)).order(ByteOrder.nativeOrder());
        long address = new Pointer(meta).address();                   // JNI GetDirectBufferAddress
        if (address == 0) throw new IllegalStateException("allocateSparse24: no address for a direct buffer");
        metaBuffers.add(meta);
        memory.allocated(meta.capacity());
        return new Sparse24(this, rows, cols, values, tail, meta, address);
    }

    @Override public void prune24(Tensor x, Sparse24 s) {
        checkSparse24("prune24", s);
        checkDense("prune24", "X", x, s.rows, s.cols);
        if (overlaps(x, s.values) || overlaps(x, s.tail)) throw new IllegalArgumentException("prune24: X " + x + " overlaps " + s);
        if (fk != null) fk.prune24(x, s); else kernels.prune24(x, s);
    }
    @Override public void decompress24(Sparse24 s, Tensor x) {
        checkSparse24("decompress24", s);
        checkDense("decompress24", "X", x, s.rows, s.cols);
        if (overlaps(x, s.values) || overlaps(x, s.tail)) throw new IllegalArgumentException("decompress24: X " + x + " overlaps " + s);
        if (fk != null) fk.decompress24(s, x); else kernels.decompress24(s, x);
    }
    @Override public void spmm24(Sparse24 s, Tensor w, Tensor y, double beta) {
        checkSparse24("spmm24", s);
        if (w.rank() != 2 || y.rank() != 2) throw new IllegalArgumentException("spmm24: W " + w + " and Y " + y + " must be matrices");
        checkDense("spmm24", "W", w, s.cols, w.dim(1));
        checkDense("spmm24", "Y", y, s.rows, w.dim(1));
        checkDisjoint("spmm24", y, w, s);
        if (fk != null) fk.spmm24(s, w, y, beta); else kernels.spmm24(s, w, y, beta);
    }
    @Override public void spmm24T(Sparse24 s, Tensor g, Tensor dw, double beta) {
        checkSparse24("spmm24T", s);
        if (g.rank() != 2 || dw.rank() != 2) throw new IllegalArgumentException("spmm24T: G " + g + " and dW " + dw + " must be matrices");
        checkDense("spmm24T", "G", g, s.rows, g.dim(1));
        checkDense("spmm24T", "dW", dw, s.cols, g.dim(1));
        checkDisjoint("spmm24T", dw, g, s);
        if (fk != null) fk.spmm24T(s, g, dw, beta); else kernels.spmm24T(s, g, dw, beta);
    }

    /** A 2:4 matrix of this backend's type whose parts have the sizes of its shape. */
    private void checkSparse24(String op, Sparse24 s) {
        if (s == null) throw new IllegalArgumentException(op + ": the 2:4 matrix is null");
        if (s.owner != this) throw new IllegalArgumentException(op + ": " + s + " was allocated by another backend");
        if (closed) throw new IllegalStateException(op + ": the backend is closed");
        if (s.dtype() != dtype || s.tail.dtype != dtype) throw new IllegalArgumentException(op + ": " + s + " on a " + dtype + " backend");
        int groups = s.cols / 4, tw = s.cols % 4;
        if (s.rows < 0 || s.cols < 0 || s.values.size != s.rows * 2 * groups || s.tail.size != s.rows * tw
                || s.meta.capacity() < (long) s.rows * groups || !s.meta.isDirect()) {
            throw new IllegalArgumentException(op + ": " + s + " has inconsistent parts");
        }
    }

    /** t is a rows x cols matrix of this backend's type (contiguous, leading dimension cols). */
    private void checkDense(String op, String name, Tensor t, int rows, int cols) {
        if (t.dtype != dtype) throw new IllegalArgumentException(op + ": " + name + " " + t + " on a " + dtype + " backend");
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols) {
            throw new IllegalArgumentException(op + ": " + name + " is " + t + ", expected [" + rows + ", " + cols + "]");
        }
    }

    /** The output of a product must not overlap its dense input or the 2:4 operand (the kernels read them while writing). */
    private static void checkDisjoint(String op, Tensor out, Tensor in, Sparse24 s) {
        if (overlaps(out, in) || overlaps(out, s.values) || overlaps(out, s.tail)) {
            throw new IllegalArgumentException(op + ": the output " + out + " overlaps an input");
        }
    }

    private static boolean overlaps(Tensor a, Tensor b) {
        return a.storage == b.storage && a.size > 0 && b.size > 0 && a.offset < b.offset + b.size && b.offset < a.offset + a.size;
    }

    /** True when the float32 2:4 operations run in the native kernels (false: Sparse24Java, or float64 loops). */
    public boolean nativeSparse24() { return fk != null && fk.nativeSparse24(); }

    /**
     * True when the float32 fused element-wise ops (SiLU, gated product, RMSNorm, cross-entropy, AdamW,
     * causal softmax; forward and backward) run in the native kernels; false: the FloatKernels Java loops
     * (or the float64 loops). Same switch as {@link #nativeSparse24()}.
     */
    public boolean nativeFused() { return nativeSparse24(); }

    /** The float32 fast paths (null for float64), for the fused-kernel benchmark in this package. */
    FloatKernels floatKernels() { return fk; }

    /** The kernel threads, for the fused-kernel benchmark in this package. */
    WorkerPool workerPool() { return pool; }

    @Override public void embedding(Tensor table, int[] ids, Tensor out) { kernels.embedding(table, ids, out); }
    @Override public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) { kernels.embeddingBackward(dTable, ids, dOut); }
    @Override public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale) {
        if (targets.length != logits.dim(0)) throw new IllegalArgumentException(targets.length + " targets for " + logits.dim(0) + " rows of logits");
        for (int r = 0; r < targets.length; r++) {
            int t = targets[r];
            if (t != ignoreIndex && (t < 0 || t >= logits.dim(1))) throw new IllegalArgumentException("target id " + t + " at row " + r + " outside vocabulary of " + logits.dim(1));
        }
        return fk != null ? fk.crossEntropy(logits, targets, ignoreIndex, gradScale) : kernels.crossEntropy(logits, targets, ignoreIndex, gradScale);
    }
    /** float32: float products summed in double (dsdot), like the plain loop. */
    @Override public double dot(Tensor a, Tensor b) {
        Kernels.sameSize(a, b);
        return dtype == DType.F32 ? cblas_dsdot(a.size, l1a.at(a, 0, 4), 1, l1b.at(b, 0, 4), 1) : kernels.dot(a, b);
    }
    @Override public double sumOfSquares(Tensor t) {
        return dtype == DType.F32 ? cblas_dsdot(t.size, l1a.at(t, 0, 4), 1, l1a.at(t, 0, 4), 1) : kernels.sumOfSquares(t);
    }
    @Override public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        Kernels.sameSize(p, g); Kernels.sameSize(p, m); Kernels.sameSize(p, v);
        if (fk != null) fk.adamw(p, g, m, v, lr, b1, b2, eps, wd, step); else kernels.adamw(p, g, m, v, lr, b1, b2, eps, wd, step);
    }

    @Override
    public long gemmFlops() {
        long sum = 0;
        for (GemmPointers p : pointers) sum += p.flops;
        return sum;
    }

    // ---- attention: per (batch, head) products on strided views, softmax in between ----
    // The (batch, head) pairs are spread over the kernel threads, each running single-threaded
    // BLAS: a 256x256x64 product is too small to split well, and the softmax between the two
    // products then runs in parallel too. The products skip the causally masked half: query rows
    // go in blocks of CAUSAL_BLOCK, and block [r0, r1) only meets keys [0, r1) (key blocks, in the
    // transposed products, only queries [c0, seqLen)); 62.5% of the full products at seq 256. The
    // entries above the diagonal that no product writes are never read: the causal softmax and its
    // backward read columns j <= i only and write zeros above (Kernels, softmax_causal.cpp), which
    // is what the diagonal blocks' products then multiply.
    static final int CAUSAL_BLOCK = 64;

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, Tensor probs, Tensor out) {
        int d = q.dim(1), hd = d / heads, tt = seqLen * seqLen;
        checkAttention(q, k, v, out, probs, batch, seqLen, heads);
        double scale = 1.0 / Math.sqrt(hd);
        perHead(batch * heads, (part, from, to) -> {
            for (int bh = from; bh < to; bh++) {
                int b = bh / heads, h = bh % heads;
                int x0 = b * seqLen * d + h * hd, p0 = bh * tt;
                for (int r0 = 0; r0 < seqLen; r0 += CAUSAL_BLOCK) {     // S[r0:r1, :r1] = scale Q[r0:r1] K[:r1]^T
                    int r1 = Math.min(seqLen, r0 + CAUSAL_BLOCK);
                    gemmInPart(part, false, true, r1 - r0, r1, hd, scale, q, x0 + r0 * d, d, k, x0, d, 0.0, probs, p0 + r0 * seqLen, seqLen);
                }
                if (fk != null) fk.causalSoftmaxRows(probs, p0, seqLen); else kernels.causalSoftmaxRows(probs, p0, seqLen);
                for (int r0 = 0; r0 < seqLen; r0 += CAUSAL_BLOCK) {     // O[r0:r1] = P[r0:r1, :r1] V[:r1]
                    int r1 = Math.min(seqLen, r0 + CAUSAL_BLOCK);
                    gemmInPart(part, false, false, r1 - r0, hd, r1, 1.0, probs, p0 + r0 * seqLen, seqLen, v, x0, d, 0.0, out, x0 + r0 * d, d);
                }
            }
        });
    }

    /**
     * Decode attention as {@link #attention} computes its rows: heads spread over the kernel
     * threads, each head's two products single-threaded on its thread (strided views of the cache,
     * no copy), the softmax row in between in double.
     */
    @Override
    public void attentionDecode(Tensor q, Tensor keys, Tensor values, int batch, int n, int heads, Tensor scores, Tensor out) {
        int d = q.dim(1), hd = d / heads, cap = scores.dim(1), ld = batch * d;
        if (d % heads != 0 || q.dim(0) != batch || out.dim(0) != batch || out.dim(1) != d || n < 1 || n > cap
                || keys.dim(1) != d || values.dim(1) != d || keys.dim(0) < n * batch || values.dim(0) < n * batch || scores.dim(0) != batch * heads) {
            throw new IllegalArgumentException("attentionDecode: q " + q + ", keys " + keys + ", values " + values + ", scores " + scores
                    + ", out " + out + " do not fit batch " + batch + ", " + n + " positions, " + heads + " heads");
        }
        double scale = 1.0 / Math.sqrt(hd);
        perHead(batch * heads, (part, from, to) -> {
            for (int bh = from; bh < to; bh++) {
                int b = bh / heads, h = bh % heads, x0 = b * d + h * hd, s0 = bh * cap;
                gemmInPart(part, false, true, 1, n, hd, scale, q, x0, d, keys, x0, ld, 0.0, scores, s0, cap);      // s = scale q K^T
                Backend.softmaxRow(scores, s0, n);
                gemmInPart(part, false, false, 1, hd, n, 1.0, scores, s0, cap, values, x0, ld, 0.0, out, x0, d);  // o = p V
            }
        });
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor probs, Tensor dOut, int batch, int seqLen, int heads,
                                  Tensor dq, Tensor dk, Tensor dv) {
        int d = q.dim(1), hd = d / heads, tt = seqLen * seqLen;
        checkAttention(q, k, v, dOut, probs, batch, seqLen, heads);
        double scale = 1.0 / Math.sqrt(hd);
        Tensor scratch = attentionScratch(seqLen);
        perHead(batch * heads, (part, from, to) -> {
            int s0 = part * tt;
            for (int bh = from; bh < to; bh++) {
                int b = bh / heads, h = bh % heads;
                int x0 = b * seqLen * d + h * hd, p0 = bh * tt;
                for (int r0 = 0; r0 < seqLen; r0 += CAUSAL_BLOCK) {
                    int r1 = Math.min(seqLen, r0 + CAUSAL_BLOCK);
                    // dP[r0:r1, :r1] = dO[r0:r1] V[:r1]^T
                    gemmInPart(part, false, true, r1 - r0, r1, hd, 1.0, dOut, x0 + r0 * d, d, v, x0, d, 0.0, scratch, s0 + r0 * seqLen, seqLen);
                }
                for (int c0 = 0; c0 < seqLen; c0 += CAUSAL_BLOCK) {
                    int c1 = Math.min(seqLen, c0 + CAUSAL_BLOCK);
                    // dV[c0:c1] = P[c0:, c0:c1]^T dO[c0:]
                    gemmInPart(part, true, false, c1 - c0, hd, seqLen - c0, 1.0, probs, p0 + c0 * seqLen + c0, seqLen,
                            dOut, x0 + c0 * d, d, 0.0, dv, x0 + c0 * d, d);
                }
                // dS = P * (dP - rowsum(dP * P)), written over dP
                Tensor ds = scratch.view(s0, seqLen, seqLen);
                if (fk != null) fk.softmaxBackwardRows(probs, p0, ds, seqLen); else kernels.softmaxBackwardRows(probs, p0, ds, seqLen);
                for (int r0 = 0; r0 < seqLen; r0 += CAUSAL_BLOCK) {
                    int r1 = Math.min(seqLen, r0 + CAUSAL_BLOCK);
                    // dQ[r0:r1] = scale dS[r0:r1, :r1] K[:r1]
                    gemmInPart(part, false, false, r1 - r0, hd, r1, scale, scratch, s0 + r0 * seqLen, seqLen, k, x0, d, 0.0, dq, x0 + r0 * d, d);
                }
                for (int c0 = 0; c0 < seqLen; c0 += CAUSAL_BLOCK) {
                    int c1 = Math.min(seqLen, c0 + CAUSAL_BLOCK);
                    // dK[c0:c1] = scale dS[c0:, c0:c1]^T Q[c0:]
                    gemmInPart(part, true, false, c1 - c0, hd, seqLen - c0, scale, scratch, s0 + c0 * seqLen + c0, seqLen,
                            q, x0 + c0 * d, d, 0.0, dk, x0 + c0 * d, d);
                }
            }
        });
    }

    private void checkAttention(Tensor q, Tensor k, Tensor v, Tensor out, Tensor probs, int batch, int seqLen, int heads) {
        int d = q.dim(1);
        if (d % heads != 0 || q.dim(0) != batch * seqLen) {
            throw new IllegalArgumentException("attention: " + q + " is not [batch " + batch + " x seq " + seqLen + ", heads " + heads + " x head_dim]");
        }
        Kernels.sameSize(q, k); Kernels.sameSize(q, v); Kernels.sameSize(q, out);
        if (probs.size != batch * heads * seqLen * seqLen) throw new IllegalArgumentException("attention: probs " + probs + " is not [" + batch + ", " + heads + ", " + seqLen + ", " + seqLen + "]");
    }

    private Tensor attentionScratch(int seqLen) {
        int need = pool.parts() * seqLen * seqLen;
        if (attentionScratch == null || attentionScratch.size < need) attentionScratch = allocate(need);
        return attentionScratch;
    }

    /** Runs per-head work on all kernel threads, each with single-threaded products. */
    private void perHead(int n, WorkerPool.RangeTask task) {
        if (pool.parts() == 1) {
            task.run(0, 0, n);
            return;
        }
        // The native sgemm takes its thread cap per call (gemmInPart passes 1). OpenBLAS has only its
        // process-wide setting, and a 1-and-back change of it through JavaCPP measured 0.7-5 ms a pair
        // here (docs/bench/BlasThreadSwitch.java): up to 3% of a 60m step, two pairs per layer.
        if (nativeGemm) {
            pool.run(n, task);
            return;
        }
        blas_set_num_threads(1);
        try {
            pool.run(n, task);
        } finally {
            blas_set_num_threads(threads);
        }
    }

    @Override
    public void close() {
        closed = true;
        pool.close();
        for (INDArray a : allocations) {
            memory.released(a.length() * (long) dtype.bytes);
            a.close();
        }
        allocations.clear();
        for (ByteBuffer b : metaBuffers) memory.released(b.capacity());   // freed with the buffer objects
        metaBuffers.clear();
    }

    private static final class GemmPointers {
        final MovableFloatPointer fa = new MovableFloatPointer(), fb = new MovableFloatPointer(), fc = new MovableFloatPointer();
        final MovableDoublePointer da = new MovableDoublePointer(), db = new MovableDoublePointer(), dc = new MovableDoublePointer();
        long flops;   // written only by this part's thread; read after the parallel section has joined
    }

    /** A FloatPointer whose address is re-pointed for each call instead of allocating a new one. */
    private static final class MovableFloatPointer extends FloatPointer {
        MovableFloatPointer() { super((Pointer) null); }
        FloatPointer at(Tensor t, int off, int elemBytes) {
            this.address = t.storage.address + (long) (t.offset + off) * elemBytes;
            this.position = 0;
            return this;
        }
    }

    private static final class MovableDoublePointer extends DoublePointer {
        MovableDoublePointer() { super((Pointer) null); }
        DoublePointer at(Tensor t, int off, int elemBytes) {
            this.address = t.storage.address + (long) (t.offset + off) * elemBytes;
            this.position = 0;
            return this;
        }
    }
}
