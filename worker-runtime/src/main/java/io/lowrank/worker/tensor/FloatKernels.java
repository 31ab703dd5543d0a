package io.lowrank.worker.tensor;

import java.nio.FloatBuffer;

/**
 * float32 fast paths of the hot {@link Kernels}: the same equations on the direct buffers, with a
 * float exp (Cephes expf, ~1 ulp) instead of Math.exp (10 ns here) and rows split across the
 * kernel threads. Each method has its double-precision twin in Kernels, which the tests use as the
 * reference.
 */
final class FloatKernels {
    private final WorkerPool pool;

    FloatKernels(WorkerPool pool) {
        this.pool = pool;
        this.partRows = new float[pool.parts()][][];
        this.pruneRows = new float[pool.parts()][][];
    }

    /** Cephes expf: range reduction by ln2 and a degree-6 polynomial; exact to ~1 ulp on [-87, 88]. */
    static float expf(float x) {
        if (x > 88.3762626647949f) return Float.POSITIVE_INFINITY;
        if (x < -87.3365447505531f) return 0f;
        float z = (float) Math.floor(x * 1.44269504088896341f + 0.5f);
        x -= z * 0.693359375f;
        x -= z * -2.12194440e-4f;
        float xx = x * x;
        float p = ((((( 1.9875691500E-4f * x + 1.3981999507E-3f) * x + 8.3334519073E-3f) * x
                + 4.1665795894E-2f) * x + 1.6666665459E-1f) * x + 5.0000001201E-1f) * xx + x + 1.0f;
        return p * Float.intBitsToFloat(((int) z + 127) << 23);
    }

    static float sigmoidf(float x) { return 1f / (1f + expf(-x)); }

    double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale) {
        final FloatBuffer f = logits.storage.f;
        final int base = logits.offset, vocab = logits.dim(1), rows = logits.dim(0);
        final float scale = (float) gradScale;
        final double[] partial = new double[pool.parts()];
        pool.run(rows, (part, from, to) -> {
            double total = 0;
            for (int r = from; r < to; r++) {
                int o = base + r * vocab, t = targets[r];
                if (t == ignoreIndex) {
                    for (int j = 0; j < vocab; j++) f.put(o + j, 0f);
                    continue;
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < vocab; j++) max = Math.max(max, f.get(o + j));
                float logitT = f.get(o + t);  // read before the exp: exp(logitT - max) may underflow to 0
                double sum = 0;
                for (int j = 0; j < vocab; j++) {
                    float e = expf(f.get(o + j) - max);
                    f.put(o + j, e);
                    sum += e;
                }
                total += Math.log(sum) + max - logitT;   // -log softmax[t] = logsumexp - logit[t]
                float inv = (float) (gradScale / sum);
                for (int j = 0; j < vocab; j++) f.put(o + j, f.get(o + j) * inv);
                f.put(o + t, f.get(o + t) - scale);
            }
            partial[part] = total;
        });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    void causalSoftmaxRows(Tensor p, int p0, int n) {
        FloatBuffer f = p.storage.f;
        int base = p.offset + p0;
        for (int i = 0; i < n; i++) {
            int row = base + i * n;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) max = Math.max(max, f.get(row + j));
            float sum = 0;
            for (int j = 0; j <= i; j++) {
                float e = expf(f.get(row + j) - max);
                f.put(row + j, e);
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j <= i; j++) f.put(row + j, f.get(row + j) * inv);
            for (int j = i + 1; j < n; j++) f.put(row + j, 0f);
        }
    }

    void softmaxBackwardRows(Tensor p, int p0, Tensor dp, int n) {
        FloatBuffer f = p.storage.f, g = dp.storage.f;
        int pb = p.offset + p0, gb = dp.offset;
        for (int i = 0; i < n; i++) {
            int row = pb + i * n, drow = gb + i * n;
            float dot = 0;
            for (int j = 0; j <= i; j++) dot += g.get(drow + j) * f.get(row + j);
            for (int j = 0; j <= i; j++) g.put(drow + j, f.get(row + j) * (g.get(drow + j) - dot));
            for (int j = i + 1; j < n; j++) g.put(drow + j, 0f);
        }
    }

    void silu(Tensor h, Tensor z) {
        FloatBuffer hf = h.storage.f, zf = z.storage.f;
        int ho = h.offset, zo = z.offset;
        pool.run(h.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float x = hf.get(ho + i);
                zf.put(zo + i, x * sigmoidf(x));
            }
        });
    }

    void siluBackward(Tensor h, Tensor dz, Tensor dh) {
        FloatBuffer hf = h.storage.f, zf = dz.storage.f, df = dh.storage.f;
        int ho = h.offset, zo = dz.offset, dO = dh.offset;
        pool.run(h.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float x = hf.get(ho + i), s = sigmoidf(x);
                df.put(dO + i, zf.get(zo + i) * s * (1f + x * (1f - s)));
            }
        });
    }

    void gatedProduct(Tensor g, Tensor u, Tensor out, boolean siluOnGate) {
        FloatBuffer gf = g.storage.f, uf = u.storage.f, of = out.storage.f;
        int go = g.offset, uo = u.offset, oo = out.offset;
        pool.run(g.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float x = gf.get(go + i);
                of.put(oo + i, (siluOnGate ? x * sigmoidf(x) : x) * uf.get(uo + i));
            }
        });
    }

    void gatedProductBackward(Tensor g, Tensor u, Tensor dOut, Tensor dG, Tensor dU, boolean siluOnGate) {
        FloatBuffer gf = g.storage.f, uf = u.storage.f, df = dOut.storage.f, dgf = dG.storage.f, duf = dU.storage.f;
        int go = g.offset, uo = u.offset, dO = dOut.offset, dgo = dG.offset, duo = dU.offset;
        pool.run(g.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float x = gf.get(go + i), up = uf.get(uo + i), dy = df.get(dO + i);
                if (siluOnGate) {
                    float s = sigmoidf(x);
                    duf.put(duo + i, dy * x * s);
                    dgf.put(dgo + i, dy * up * s * (1f + x * (1f - s)));
                } else {
                    duf.put(duo + i, dy * x);
                    dgf.put(dgo + i, dy * up);
                }
            }
        });
    }

    // ---- ELAS: squared ReLU and 2:4 sparsity (layout: Backend#prune24) ----
    // The sparse products run their inner loops on heap copies of the rows of the dense operand (W,
    // or G) and on per-thread heap accumulator rows, each its own float[] starting at index 0: C2
    // vectorizes y[j] += a * x[j] over such arrays, but neither loops over a direct FloatBuffer nor
    // (JDK 17) loops whose operands sit at different variable offsets of one array. The copies are
    // reused across calls and grown on demand.

    private float[][] denseRows = new float[0][];
    private final float[][][] partRows;

    /** The rows of the dense matrix t [rows, n] on the heap (reused arrays). */
    private float[][] rowsOnHeap(Tensor t) {
        int rows = t.dim(0), n = t.dim(1);
        if (denseRows.length < rows || (rows > 0 && denseRows[0].length != n)) {
            denseRows = new float[Math.max(rows, denseRows.length)][n];
        }
        FloatBuffer f = t.storage.f;
        for (int r = 0; r < rows; r++) f.get(t.offset + r * n, denseRows[r], 0, n);
        return denseRows;
    }

    /** count accumulator rows of length n for kernel thread {@code part} (reused arrays). */
    private float[][] accumulatorRows(int part, int count, int n) {
        float[][] a = partRows[part];
        if (a == null || a.length < count || a[0].length != n) partRows[part] = a = new float[count][n];
        return a;
    }

    /** y += a * x + b * z over whole rows. */
    private static void axpy2(float a, float[] x, float b, float[] z, float[] y) {
        for (int j = 0; j < y.length; j++) y[j] += a * x[j] + b * z[j];
    }

    /** y += a * x over whole rows. */
    private static void axpy(float a, float[] x, float[] y) {
        for (int j = 0; j < y.length; j++) y[j] += a * x[j];
    }

    void reluSquare(Tensor x, Tensor y) {
        FloatBuffer xf = x.storage.f, yf = y.storage.f;
        int xo = x.offset, yo = y.offset;
        pool.run(x.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float r = Math.max(xf.get(xo + i), 0f);
                yf.put(yo + i, r * r);
            }
        });
    }

    void reluSquareBackward(Tensor x, Tensor dy, Tensor dx) {
        FloatBuffer xf = x.storage.f, gf = dy.storage.f, df = dx.storage.f;
        int xo = x.offset, go = dy.offset, dO = dx.offset;
        pool.run(x.size, (part, from, to) -> {
            for (int i = from; i < to; i++) df.put(dO + i, 2f * Math.max(xf.get(xo + i), 0f) * gf.get(go + i));
        });
    }

    /**
     * Per group: element i is kept iff fewer than 2 others beat it, j beating i when |x_j| > |x_i|,
     * or |x_j| == |x_i| and j < i (the lower index wins ties). The ranks are computed without
     * branches (random activations defeat branch prediction); the kept pair's nibble comes from a
     * table indexed by the 4-bit keep mask.
     */
    void prune24(Tensor x, Tensor values, Tensor meta) {
        FloatBuffer xf = x.storage.f, vf = values.storage.f, mf = meta.storage.f;
        int xo = x.offset, vo = values.offset, mo = meta.offset;
        int cols = x.dim(1), groups = cols / 4, vc = Backend.values24Cols(cols), mc = Backend.meta24Cols(cols);
        pool.run(x.dim(0), (part, from, to) -> {
            float[][] buf = pruneRows(part, cols, vc);
            float[] in = buf[0], out = buf[1];
            for (int r = from; r < to; r++) {
                xf.get(xo + r * cols, in, 0, cols);
                int word = 0;
                for (int g = 0; g < groups; g++) {
                    int o = 4 * g;
                    float a0 = Math.abs(in[o]), a1 = Math.abs(in[o + 1]), a2 = Math.abs(in[o + 2]), a3 = Math.abs(in[o + 3]);
                    int r0 = (a1 > a0 ? 1 : 0) + (a2 > a0 ? 1 : 0) + (a3 > a0 ? 1 : 0);
                    int r1 = (a0 >= a1 ? 1 : 0) + (a2 > a1 ? 1 : 0) + (a3 > a1 ? 1 : 0);
                    int r2 = (a0 >= a2 ? 1 : 0) + (a1 >= a2 ? 1 : 0) + (a3 > a2 ? 1 : 0);
                    int r3 = (a0 >= a3 ? 1 : 0) + (a1 >= a3 ? 1 : 0) + (a2 >= a3 ? 1 : 0);
                    int keep = (r0 < 2 ? 1 : 0) | (r1 < 2 ? 2 : 0) | (r2 < 2 ? 4 : 0) | (r3 < 2 ? 8 : 0);
                    int nibble = KEPT_PAIR[keep];
                    out[2 * g] = in[o + (nibble & 3)];
                    out[2 * g + 1] = in[o + (nibble >>> 2)];
                    word |= nibble << (4 * (g & 3));
                    if ((g & 3) == 3 || g == groups - 1) {
                        mf.put(mo + r * mc + (g >> 2), (float) word);      // 16 bits: an exact float
                        word = 0;
                    }
                }
                System.arraycopy(in, 4 * groups, out, 2 * groups, vc - 2 * groups);   // the dense tail
                vf.put(vo + r * vc, out, 0, vc);
            }
        });
    }

    /** 4-bit keep mask (bit i: position i kept) to the nibble i0 | i1 << 2; masks without exactly 2 bits (NaN input) map to 0 | 1 << 2. */
    private static final int[] KEPT_PAIR = new int[16];
    static {
        java.util.Arrays.fill(KEPT_PAIR, 1 << 2);
        for (int i0 = 0; i0 < 4; i0++) for (int i1 = i0 + 1; i1 < 4; i1++) KEPT_PAIR[1 << i0 | 1 << i1] = i0 | i1 << 2;
    }

    private final float[][][] pruneRows;

    /** An input row [cols] and an output row [vc] for kernel thread {@code part} (reused arrays). */
    private float[][] pruneRows(int part, int cols, int vc) {
        float[][] b = pruneRows[part];
        if (b == null || b[0].length < cols || b[1].length < vc) pruneRows[part] = b = new float[][]{new float[cols], new float[vc]};
        return b;
    }

    void decompress24(Tensor values, Tensor meta, Tensor x) {
        FloatBuffer xf = x.storage.f, vf = values.storage.f, mf = meta.storage.f;
        int xo = x.offset, vo = values.offset, mo = meta.offset;
        int cols = x.dim(1), groups = cols / 4, vc = Backend.values24Cols(cols), mc = Backend.meta24Cols(cols);
        pool.run(x.dim(0), (part, from, to) -> {
            for (int r = from; r < to; r++) {
                int x0 = xo + r * cols, v0 = vo + r * vc, m0 = mo + r * mc;
                for (int j = 0; j < 4 * groups; j++) xf.put(x0 + j, 0f);
                for (int g = 0; g < groups; g++) {
                    int nibble = ((int) mf.get(m0 + (g >> 2)) >>> (4 * (g & 3))) & 0xF;
                    xf.put(x0 + 4 * g + (nibble & 3), vf.get(v0 + 2 * g));
                    xf.put(x0 + 4 * g + (nibble >>> 2), vf.get(v0 + 2 * g + 1));
                }
                for (int k = 2 * groups; k < vc; k++) xf.put(x0 + 4 * groups + k - 2 * groups, vf.get(v0 + k));
            }
        });
    }

    /** Rows split across threads; each output row is accumulated on the heap from the kept rows of W. */
    void spmm24(Tensor values, Tensor meta, Tensor w, Tensor y, double beta) {
        FloatBuffer vf = values.storage.f, mf = meta.storage.f, yf = y.storage.f;
        int vo = values.offset, mo = meta.offset, yo = y.offset;
        int n = y.dim(1), cols = w.dim(0), groups = cols / 4, vc = Backend.values24Cols(cols), mc = Backend.meta24Cols(cols);
        float fb = (float) beta;
        float[][] wRow = rowsOnHeap(w);
        pool.run(y.dim(0), (part, from, to) -> {
            float[] acc = accumulatorRows(part, 1, n)[0];
            for (int r = from; r < to; r++) {
                int y0 = yo + r * n, v0 = vo + r * vc, m0 = mo + r * mc;
                for (int j = 0; j < n; j++) acc[j] = fb == 0f ? 0f : fb * yf.get(y0 + j);
                for (int g = 0; g < groups; g++) {
                    int nibble = ((int) mf.get(m0 + (g >> 2)) >>> (4 * (g & 3))) & 0xF;
                    axpy2(vf.get(v0 + 2 * g), wRow[4 * g + (nibble & 3)], vf.get(v0 + 2 * g + 1), wRow[4 * g + (nibble >>> 2)], acc);
                }
                for (int k = 2 * groups; k < vc; k++) axpy(vf.get(v0 + k), wRow[4 * groups + k - 2 * groups], acc);
                yf.put(y0, acc, 0, n);
            }
        });
    }

    /** Groups of 4 dW rows per block; threads own disjoint blocks, so no two threads add to one element. */
    private static final int SPMM24T_BLOCK = 16;

    void spmm24T(Tensor values, Tensor meta, Tensor g, Tensor dw, double beta) {
        FloatBuffer vf = values.storage.f, mf = meta.storage.f, df = dw.storage.f;
        int vo = values.offset, mo = meta.offset, dO = dw.offset;
        int rows = g.dim(0), n = g.dim(1), cols = dw.dim(0), groups = cols / 4, tail = cols % 4;
        int vc = Backend.values24Cols(cols), mc = Backend.meta24Cols(cols);
        float fb = (float) beta;
        float[][] gRow = rowsOnHeap(g);
        int blocks = (groups + SPMM24T_BLOCK - 1) / SPMM24T_BLOCK + (tail > 0 ? 1 : 0);
        int tailBlock = tail > 0 ? blocks - 1 : -1;
        pool.run(blocks, (part, from, to) -> {
            float[][] acc = accumulatorRows(part, 4 * SPMM24T_BLOCK, n);    // acc[c - c0] = dW row c
            for (int b = from; b < to; b++) {
                int g0 = b == tailBlock ? groups : b * SPMM24T_BLOCK;
                int g1 = b == tailBlock ? groups : Math.min(groups, g0 + SPMM24T_BLOCK);
                int c0 = 4 * g0, c1 = b == tailBlock ? cols : 4 * g1;    // dW rows [c0, c1) of this block
                for (int c = c0; c < c1; c++) {
                    float[] a = acc[c - c0];
                    for (int j = 0; j < n; j++) a[j] = fb == 0f ? 0f : fb * df.get(dO + c * n + j);
                }
                for (int r = 0; r < rows; r++) {
                    int v0 = vo + r * vc, m0 = mo + r * mc;
                    float[] gr = gRow[r];
                    for (int gg = g0; gg < g1; gg++) {
                        int nibble = ((int) mf.get(m0 + (gg >> 2)) >>> (4 * (gg & 3))) & 0xF;
                        axpy(vf.get(v0 + 2 * gg), gr, acc[4 * gg + (nibble & 3) - c0]);
                        axpy(vf.get(v0 + 2 * gg + 1), gr, acc[4 * gg + (nibble >>> 2) - c0]);
                    }
                    if (b == tailBlock) {
                        for (int t = 0; t < tail; t++) axpy(vf.get(v0 + 2 * groups + t), gr, acc[t]);
                    }
                }
                for (int c = c0; c < c1; c++) df.put(dO + c * n, acc[c - c0], 0, n);
            }
        });
    }

    void rmsNorm(Tensor x, Tensor w, double eps, Tensor out, Tensor invRms) {
        FloatBuffer xf = x.storage.f, wf = w.storage.f, of = out.storage.f, rf = invRms.storage.f;
        int xo = x.offset, wo = w.offset, oo = out.offset, ro = invRms.offset, d = w.size;
        pool.run(x.size / d, (part, from, to) -> {
            for (int r = from; r < to; r++) {
                int o = r * d;
                double ss = 0;
                for (int j = 0; j < d; j++) { float v = xf.get(xo + o + j); ss += v * v; }
                float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
                rf.put(ro + r, inv);
                for (int j = 0; j < d; j++) of.put(oo + o + j, wf.get(wo + j) * (xf.get(xo + o + j) * inv));
            }
        });
    }

    void fill(Tensor t, double value) {
        FloatBuffer f = t.storage.f;
        int o = t.offset;
        float v = (float) value;
        pool.run(t.size, (part, from, to) -> {
            for (int i = from; i < to; i++) f.put(o + i, v);
        });
    }

    void copy(Tensor src, Tensor dst) {
        FloatBuffer a = src.storage.f, b = dst.storage.f;
        int ao = src.offset, bo = dst.offset;
        pool.run(src.size, (part, from, to) -> {
            for (int i = from; i < to; i++) b.put(bo + i, a.get(ao + i));
        });
    }

    void add(Tensor x, Tensor y, Tensor out) {
        FloatBuffer a = x.storage.f, b = y.storage.f, c = out.storage.f;
        int ao = x.offset, bo = y.offset, co = out.offset;
        pool.run(x.size, (part, from, to) -> {
            for (int i = from; i < to; i++) c.put(co + i, a.get(ao + i) + b.get(bo + i));
        });
    }

    void axpy(double alpha, Tensor src, Tensor dst) {
        FloatBuffer a = src.storage.f, b = dst.storage.f;
        int ao = src.offset, bo = dst.offset;
        float al = (float) alpha;
        pool.run(src.size, (part, from, to) -> {
            for (int i = from; i < to; i++) b.put(bo + i, b.get(bo + i) + al * a.get(ao + i));
        });
    }

    void scale(Tensor t, double alpha) {
        FloatBuffer f = t.storage.f;
        int o = t.offset;
        float al = (float) alpha;
        pool.run(t.size, (part, from, to) -> {
            for (int i = from; i < to; i++) f.put(o + i, f.get(o + i) * al);
        });
    }

    double sumOfSquares(Tensor t) {
        FloatBuffer f = t.storage.f;
        int o = t.offset;
        double[] partial = new double[pool.parts()];
        pool.run(t.size, (part, from, to) -> {
            double s = 0;
            for (int i = from; i < to; i++) { float v = f.get(o + i); s += v * v; }
            partial[part] = s;
        });
        double s = 0;
        for (double p : partial) s += p;   // fixed order: the same sum on every run with the same thread count
        return s;
    }

    double dot(Tensor a, Tensor b) {
        FloatBuffer fa = a.storage.f, fb = b.storage.f;
        int ao = a.offset, bo = b.offset;
        double[] partial = new double[pool.parts()];
        pool.run(a.size, (part, from, to) -> {
            double s = 0;
            for (int i = from; i < to; i++) s += fa.get(ao + i) * fb.get(bo + i);
            partial[part] = s;
        });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        FloatBuffer pf = p.storage.f, gf = g.storage.f, mf = m.storage.f, vf = v.storage.f;
        int po = p.offset, go = g.offset, mo = m.offset, vo = v.offset;
        double bc1 = 1.0 - Math.pow(b1, step), bc2 = 1.0 - Math.pow(b2, step);
        float stepSize = (float) (lr / bc1), invBc2Sqrt = (float) (1.0 / Math.sqrt(bc2)), decay = (float) (1.0 - lr * wd);
        float fb1 = (float) b1, fb2 = (float) b2, c1 = (float) (1 - b1), c2 = (float) (1 - b2), feps = (float) eps;
        pool.run(p.size, (part, from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gf.get(go + i);
                float mi = fb1 * mf.get(mo + i) + c1 * gi;
                float vi = fb2 * vf.get(vo + i) + c2 * gi * gi;
                mf.put(mo + i, mi);
                vf.put(vo + i, vi);
                pf.put(po + i, pf.get(po + i) * decay - stepSize * mi / ((float) Math.sqrt(vi) * invBc2Sqrt + feps));
            }
        });
    }

    /** Rows split across threads for dx; dWeight in a second pass split by columns, so no two threads add to one element. */
    void rmsNormBackward(Tensor x, Tensor w, Tensor invRms, Tensor dOut, Tensor dx, Tensor dW) {
        FloatBuffer xf = x.storage.f, wf = w.storage.f, rf = invRms.storage.f, gf = dOut.storage.f, df = dx.storage.f, dwf = dW.storage.f;
        int xo = x.offset, wo = w.offset, ro = invRms.offset, go = dOut.offset, dO = dx.offset, dwo = dW.offset, d = w.size;
        int rows = x.size / d;
        pool.run(rows, (part, from, to) -> {
            for (int r = from; r < to; r++) {
                int o = r * d;
                float inv = rf.get(ro + r);
                double dot = 0;
                for (int j = 0; j < d; j++) dot += gf.get(go + o + j) * wf.get(wo + j) * (xf.get(xo + o + j) * inv);
                float mean = (float) (dot / d);
                for (int j = 0; j < d; j++) {
                    float xhat = xf.get(xo + o + j) * inv;
                    df.put(dO + o + j, inv * (gf.get(go + o + j) * wf.get(wo + j) - xhat * mean));
                }
            }
        });
        pool.run(d, (part, from, to) -> {
            for (int j = from; j < to; j++) {
                double acc = 0;
                for (int r = 0; r < rows; r++) acc += gf.get(go + r * d + j) * (xf.get(xo + r * d + j) * rf.get(ro + r));
                dwf.put(dwo + j, dwf.get(dwo + j) + (float) acc);
            }
        });
    }

    void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        FloatBuffer f = x.storage.f, cf = cos.storage.f, sf = sin.storage.f;
        int xo = x.offset, co = cos.offset, so = sin.offset;
        int d = x.dim(1), hd = d / heads, half = hd / 2, rows = x.dim(0);
        float sign = inverse ? -1f : 1f;
        pool.run(rows, (part, from, to) -> {
            for (int r = from; r < to; r++) {
                int t = r % seqLen;
                for (int h = 0; h < heads; h++) {
                    int o = xo + r * d + h * hd;
                    for (int i = 0; i < half; i++) {
                        float c = cf.get(co + t * half + i), s = sign * sf.get(so + t * half + i);
                        float x1 = f.get(o + i), x2 = f.get(o + half + i);
                        f.put(o + i, x1 * c - x2 * s);
                        f.put(o + half + i, x2 * c + x1 * s);
                    }
                }
            }
        });
    }
}
