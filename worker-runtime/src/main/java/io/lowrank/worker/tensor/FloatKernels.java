package io.lowrank.worker.tensor;

import io.lowrank.nativekernels.Fused;
import io.lowrank.nativekernels.Sparse24;
import io.lowrank.nativekernels.Sparse24Java;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * float32 fast paths of the hot {@link Kernels}: the same equations on the direct buffers, with a
 * float exp (Cephes expf, ~1 ulp) instead of Math.exp (10 ns here) and rows split across the
 * kernel threads. Each method has its double-precision twin in Kernels, which the tests use as the
 * reference.
 *
 * <p>With the native kernels loaded (io.lowrank:native-kernels), the 2:4 operations and the fused
 * element-wise ops (SiLU, SwiGLU gated product, RMSNorm, cross-entropy, AdamW, attention's causal
 * softmax, RoPE, ELAS's squared ReLU; forward and backward) run in C++ (AVX2/AVX-512, OpenMP threads = the kernel threads) on
 * the tensors' own memory; the Java loops below are the fallback and the tests' second path.
 */
final class FloatKernels {
    private final WorkerPool pool;

    private final int threads;
    private final boolean nativeSparse24;   // also: the fused element-wise ops run natively
    private double[] partial = new double[0];   // per-thread partial sums (rmsNorm dWeight), grown once per shape

    /** nativeSparse24: run the 2:4 operations and the fused element-wise ops in the native kernels (the caller checked that they loaded). */
    FloatKernels(WorkerPool pool, int threads, boolean nativeSparse24) {
        this.pool = pool;
        this.threads = threads;
        this.nativeSparse24 = nativeSparse24;
    }

    private double[] partialSums(int n) {
        if (partial.length < n) partial = new double[n];
        return partial;
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
        if (nativeSparse24) {
            nativeThreads();
            return Fused.crossEntropy(logits.storage.address, logits.offset, logits.dim(0), logits.dim(1), targets, ignoreIndex, (float) gradScale);
        }
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
                float inv = (float) (gradScale / sum), eT = f.get(o + t);
                for (int j = 0; j < vocab; j++) f.put(o + j, f.get(o + j) * inv);
                // scale * (softmax_t - 1) as -scale * (sum - e_t) / sum in double: no cancellation when softmax_t ~ 1
                f.put(o + t, (float) (-gradScale * ((sum - eT) / sum)));
            }
            partial[part] = total;
        });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    /** Called from every kernel thread at once (one (batch, head) each): the native kernel runs on the calling thread. */
    void causalSoftmaxRows(Tensor p, int p0, int n) {
        if (nativeSparse24) {
            Fused.causalSoftmax(p.storage.address, p.offset + p0, n, n);
            return;
        }
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
        if (nativeSparse24) {
            Fused.causalSoftmaxBackward(p.storage.address, p.offset + p0, n, dp.storage.address, dp.offset, n, n);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.silu(h.storage.address, h.offset, z.storage.address, z.offset, h.size);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.siluBackward(h.storage.address, h.offset, dz.storage.address, dz.offset, dh.storage.address, dh.offset, h.size);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.swiglu(g.storage.address, g.offset, u.storage.address, u.offset, out.storage.address, out.offset, g.size, siluOnGate);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.swigluBackward(g.storage.address, g.offset, u.storage.address, u.offset, dOut.storage.address, dOut.offset,
                    dG.storage.address, dG.offset, dU.storage.address, dU.offset, g.size, siluOnGate);
            return;
        }
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

    // ---- ELAS: squared ReLU and 2:4 sparsity ----

    void reluSquare(Tensor x, Tensor y) {
        if (nativeSparse24) {
            nativeThreads();
            Fused.reluSquare(x.storage.address, x.offset, y.storage.address, y.offset, x.size);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.reluSquareBackward(x.storage.address, x.offset, dy.storage.address, dy.offset, dx.storage.address, dx.offset, x.size);
            return;
        }
        FloatBuffer xf = x.storage.f, gf = dy.storage.f, df = dx.storage.f;
        int xo = x.offset, go = dy.offset, dO = dx.offset;
        pool.run(x.size, (part, from, to) -> {
            for (int i = from; i < to; i++) df.put(dO + i, 2f * Math.max(xf.get(xo + i), 0f) * gf.get(go + i));
        });
    }

    // The 2:4 operations (layout: Backend.Sparse24) on the tensors' own memory, no copies: the
    // native kernels on raw addresses when they loaded, else Sparse24Java on direct-buffer views,
    // rows split across the kernel threads (each row is independent: the same bits either way).
    // Shapes are checked by the backend before these run.

    /** True when the native kernels run the 2:4 operations (and the fused element-wise ops); false: Sparse24Java (and the Java loops). */
    boolean nativeSparse24() { return nativeSparse24; }

    private void nativeThreads() {
        if (Sparse24.getNumThreads() != threads) Sparse24.setNumThreads(threads);
    }

    private static long tailAddress(Backend.Sparse24 s) { return s.tailWidth() == 0 ? 0L : s.tail.storage.address; }

    void prune24(Tensor x, Backend.Sparse24 s) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4;
        if (nativeSparse24) {
            nativeThreads();
            Sparse24.prune24Compress(x.storage.address, x.offset, cols, rows, cols,
                    s.values.storage.address, s.values.offset, s.metaAddress, 0, tailAddress(s), s.tail.offset);
            return;
        }
        pool.run(rows, (part, from, to) -> Sparse24Java.INSTANCE.prune24Compress(
                view(x, from * cols, (to - from) * cols), cols, to - from, cols,
                view(s.values, from * 2 * groups, (to - from) * 2 * groups), metaView(s, from, to),
                tw == 0 ? null : view(s.tail, from * tw, (to - from) * tw)));
    }

    void decompress24(Backend.Sparse24 s, Tensor x) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4;
        if (nativeSparse24) {
            nativeThreads();
            Sparse24.decompress24(s.values.storage.address, s.values.offset, s.metaAddress, 0, tailAddress(s), s.tail.offset,
                    rows, cols, x.storage.address, x.offset, cols);
            return;
        }
        pool.run(rows, (part, from, to) -> Sparse24Java.INSTANCE.decompress24(
                view(s.values, from * 2 * groups, (to - from) * 2 * groups), metaView(s, from, to),
                tw == 0 ? null : view(s.tail, from * tw, (to - from) * tw), to - from, cols,
                view(x, from * cols, (to - from) * cols), cols));
    }

    void spmm24(Backend.Sparse24 s, Tensor w, Tensor y, double beta) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4, n = y.dim(1);
        if (nativeSparse24) {
            nativeThreads();
            Sparse24.spmm24nn(s.values.storage.address, s.values.offset, s.metaAddress, 0, tailAddress(s), s.tail.offset,
                    rows, cols, w.storage.address, w.offset, n, n, (float) beta, y.storage.address, y.offset, n);
            return;
        }
        pool.run(rows, (part, from, to) -> Sparse24Java.INSTANCE.spmm24nn(
                view(s.values, from * 2 * groups, (to - from) * 2 * groups), metaView(s, from, to),
                tw == 0 ? null : view(s.tail, from * tw, (to - from) * tw), to - from, cols,
                view(w, 0, w.size), n, n, (float) beta, view(y, from * n, (to - from) * n), n));
    }

    /** Sparse24Java's S^T G runs on one thread: its output rows are not a contiguous slice of its inputs. */
    void spmm24T(Backend.Sparse24 s, Tensor g, Tensor dw, double beta) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4, n = g.dim(1);
        if (nativeSparse24) {
            nativeThreads();
            Sparse24.spmm24tn(s.values.storage.address, s.values.offset, s.metaAddress, 0, tailAddress(s), s.tail.offset,
                    rows, cols, g.storage.address, g.offset, n, n, (float) beta, dw.storage.address, dw.offset, n);
            return;
        }
        Sparse24Java.INSTANCE.spmm24tn(view(s.values, 0, rows * 2 * groups), metaView(s, 0, rows),
                tw == 0 ? null : view(s.tail, 0, rows * tw), rows, cols, view(g, 0, g.size), n, n, (float) beta,
                view(dw, 0, dw.size), n);
    }

    /** A buffer over elements [from, from + length) of t (position = first element). */
    private static FloatBuffer view(Tensor t, int from, int length) {
        FloatBuffer b = t.storage.f.duplicate();
        b.limit(t.offset + from + length).position(t.offset + from);
        return b;
    }

    /** A buffer over the metadata of rows [from, to) of s. */
    private static ByteBuffer metaView(Backend.Sparse24 s, int from, int to) {
        ByteBuffer b = s.meta.duplicate();
        b.limit(to * s.groups()).position(from * s.groups());
        return b;
    }

    void rmsNorm(Tensor x, Tensor w, double eps, Tensor out, Tensor invRms) {
        if (nativeSparse24) {
            nativeThreads();
            Fused.rmsNorm(x.storage.address, x.offset, w.storage.address, w.offset, eps, out.storage.address, out.offset,
                    invRms.storage.address, invRms.offset, x.size / w.size, w.size);
            return;
        }
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

    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        if (nativeSparse24) {
            nativeThreads();
            Fused.adamw(p.storage.address, p.offset, g.storage.address, g.offset, m.storage.address, m.offset,
                    v.storage.address, v.offset, p.size, lr, b1, b2, eps, wd, step);
            return;
        }
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
        if (nativeSparse24) {
            nativeThreads();
            Fused.rmsNormBackward(x.storage.address, x.offset, w.storage.address, w.offset, invRms.storage.address, invRms.offset,
                    dOut.storage.address, dOut.offset, dx.storage.address, dx.offset, dW.storage.address, dW.offset, x.size / w.size, w.size);
            return;
        }
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
        // dWeight: each thread sums its own rows (row-major, cache-friendly) into its slice of a
        // reusable [parts, d] buffer; the slices are then added in part order (deterministic).
        double[] partial = partialSums(pool.parts() * d);
        pool.run(rows, (part, from, to) -> {
            int base = part * d;
            java.util.Arrays.fill(partial, base, base + d, 0.0);
            for (int r = from; r < to; r++) {
                float inv = rf.get(ro + r);
                int o = r * d;
                for (int j = 0; j < d; j++) partial[base + j] += gf.get(go + o + j) * (xf.get(xo + o + j) * inv);
            }
        });
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int part = 0; part < pool.parts(); part++) acc += partial[part * d + j];
            dwf.put(dwo + j, dwf.get(dwo + j) + (float) acc);
        }
    }

    /** In place over x [rows, heads * hd]; row r is position r % seqLen; cos/sin [seqLen, hd / 2]; inverse: the opposite angle (backward). */
    void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        if (nativeSparse24 && x.size > 0) {
            nativeThreads();
            Fused.rope(x.storage.address, x.offset, cos.storage.address, cos.offset, sin.storage.address, sin.offset,
                    x.dim(0), seqLen, heads, x.dim(1) / heads, inverse);
            return;
        }
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
