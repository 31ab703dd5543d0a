package io.lowrank.worker.tensor;

/**
 * The element-wise, normalisation, rope, softmax, loss and optimizer loops of the CPU backend.
 * Written once, in double arithmetic, over {@link Tensor#get}/{@link Tensor#set}: for float32 the
 * stores round to float, which is what a float32 kernel with a double accumulator does anyway.
 * Each loop reads like its equation; methods.md is the reference.
 */
final class Kernels {

    static void sameSize(Tensor a, Tensor b) {
        if (a.size != b.size) throw new IllegalArgumentException("size mismatch: " + a + " vs " + b);
    }

    void fill(Tensor t, double value) {
        for (int i = 0; i < t.size; i++) t.set(i, value);
    }

    void copy(Tensor src, Tensor dst) {
        sameSize(src, dst);
        for (int i = 0; i < src.size; i++) dst.set(i, src.get(i));
    }

    void add(Tensor a, Tensor b, Tensor out) {
        sameSize(a, b); sameSize(a, out);
        for (int i = 0; i < a.size; i++) out.set(i, a.get(i) + b.get(i));
    }

    void axpy(double alpha, Tensor src, Tensor dst) {
        sameSize(src, dst);
        for (int i = 0; i < src.size; i++) dst.set(i, dst.get(i) + alpha * src.get(i));
    }

    void scale(Tensor t, double alpha) {
        for (int i = 0; i < t.size; i++) t.set(i, t.get(i) * alpha);
    }

    static double sigmoid(double x) { return 1.0 / (1.0 + Math.exp(-x)); }

    void silu(Tensor h, Tensor z) {
        sameSize(h, z);
        for (int i = 0; i < h.size; i++) {
            double x = h.get(i);
            z.set(i, x * sigmoid(x));
        }
    }

    void siluBackward(Tensor h, Tensor dz, Tensor dh) {
        sameSize(h, dz); sameSize(h, dh);
        for (int i = 0; i < h.size; i++) {
            double x = h.get(i), s = sigmoid(x);
            dh.set(i, dz.get(i) * s * (1.0 + x * (1.0 - s)));
        }
    }

    void gatedProduct(Tensor g, Tensor u, Tensor out, boolean siluOnGate) {
        sameSize(g, u); sameSize(g, out);
        for (int i = 0; i < g.size; i++) {
            double x = g.get(i);
            out.set(i, (siluOnGate ? x * sigmoid(x) : x) * u.get(i));
        }
    }

    void gatedProductBackward(Tensor g, Tensor u, Tensor dOut, Tensor dG, Tensor dU, boolean siluOnGate) {
        sameSize(g, u); sameSize(g, dOut); sameSize(g, dG); sameSize(g, dU);
        for (int i = 0; i < g.size; i++) {
            double x = g.get(i), up = u.get(i), dy = dOut.get(i);
            if (siluOnGate) {
                double s = sigmoid(x);
                dU.set(i, dy * x * s);
                dG.set(i, dy * up * s * (1.0 + x * (1.0 - s)));
            } else {
                dU.set(i, dy * x);
                dG.set(i, dy * up);
            }
        }
    }

    // ---- ELAS: squared ReLU and 2:4 sparsity (layout: Backend#prune24) ----

    void reluSquare(Tensor x, Tensor y) {
        sameSize(x, y);
        for (int i = 0; i < x.size; i++) {
            double r = Math.max(x.get(i), 0.0);
            y.set(i, r * r);
        }
    }

    void reluSquareBackward(Tensor x, Tensor dy, Tensor dx) {
        sameSize(x, dy); sameSize(x, dx);
        for (int i = 0; i < x.size; i++) dx.set(i, 2.0 * Math.max(x.get(i), 0.0) * dy.get(i));
    }

    /**
     * The metadata byte i0 | i1 &lt;&lt; 2 of the group of 4 at o: position i is kept iff fewer than 2
     * others beat it, j beating i when its key is larger, or equal and j &lt; i. The key is the IEEE
     * bits with the sign cleared (|x| order, -0 == +0, NaN above +inf): the order of the native
     * kernels and {@code Sparse24Java}, here on the float64 bits (the same order for float values).
     */
    static int keep24(Tensor x, int o) {
        long k0 = key(x.get(o)), k1 = key(x.get(o + 1)), k2 = key(x.get(o + 2)), k3 = key(x.get(o + 3));
        int r0 = (k1 > k0 ? 1 : 0) + (k2 > k0 ? 1 : 0) + (k3 > k0 ? 1 : 0);
        int r1 = (k0 >= k1 ? 1 : 0) + (k2 > k1 ? 1 : 0) + (k3 > k1 ? 1 : 0);
        int r2 = (k0 >= k2 ? 1 : 0) + (k1 >= k2 ? 1 : 0) + (k3 > k2 ? 1 : 0);
        int r3 = (k0 >= k3 ? 1 : 0) + (k1 >= k3 ? 1 : 0) + (k2 >= k3 ? 1 : 0);
        int keep = (r0 < 2 ? 1 : 0) | (r1 < 2 ? 2 : 0) | (r2 < 2 ? 4 : 0) | (r3 < 2 ? 8 : 0);
        int i0 = Integer.numberOfTrailingZeros(keep), i1 = 31 - Integer.numberOfLeadingZeros(keep);
        return i0 | i1 << 2;
    }

    private static long key(double v) { return Double.doubleToRawLongBits(v) & Long.MAX_VALUE; }

    // The 2:4 loops below are the generic (float64) implementation of the layout of Backend.Sparse24;
    // float32 goes to the native kernels or Sparse24Java (FloatKernels). Products accumulate in double.

    void prune24(Tensor x, Backend.Sparse24 s) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int o = r * cols + 4 * g, m = keep24(x, o);
                s.values.set(r * 2 * groups + 2 * g, x.get(o + (m & 3)));
                s.values.set(r * 2 * groups + 2 * g + 1, x.get(o + (m >>> 2)));
                s.meta.put(r * groups + g, (byte) m);
            }
            for (int t = 0; t < tw; t++) s.tail.set(r * tw + t, x.get(r * cols + 4 * groups + t));
        }
    }

    void decompress24(Backend.Sparse24 s, Tensor x) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int o = r * cols + 4 * g, m = s.meta.get(r * groups + g);
                for (int i = 0; i < 4; i++) x.set(o + i, 0.0);
                x.set(o + (m & 3), s.values.get(r * 2 * groups + 2 * g));
                x.set(o + ((m >>> 2) & 3), s.values.get(r * 2 * groups + 2 * g + 1));
            }
            for (int t = 0; t < tw; t++) x.set(r * cols + 4 * groups + t, s.tail.get(r * tw + t));
        }
    }

    /** Y = S W + beta Y: row r of Y is the sum over the kept (column c, value v) of row r of v * W[c, :]. */
    void spmm24(Backend.Sparse24 s, Tensor w, Tensor y, double beta) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4, n = y.dim(1);
        double[] acc = new double[n];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) acc[j] = beta == 0.0 ? 0.0 : beta * y.get(r * n + j);
            for (int g = 0; g < groups; g++) {
                int m = s.meta.get(r * groups + g);
                axpyRow(acc, s.values.get(r * 2 * groups + 2 * g), w, (4 * g + (m & 3)) * n);
                axpyRow(acc, s.values.get(r * 2 * groups + 2 * g + 1), w, (4 * g + ((m >>> 2) & 3)) * n);
            }
            for (int t = 0; t < tw; t++) axpyRow(acc, s.tail.get(r * tw + t), w, (4 * groups + t) * n);
            for (int j = 0; j < n; j++) y.set(r * n + j, acc[j]);
        }
    }

    /** acc[0..n) += v * a[off..off+n) */
    private static void axpyRow(double[] acc, double v, Tensor a, int off) {
        for (int j = 0; j < acc.length; j++) acc[j] += v * a.get(off + j);
    }

    /** dW = S^T G + beta dW: every kept (row r, column c, value v) adds v * G[r, :] to row c of dW. */
    void spmm24T(Backend.Sparse24 s, Tensor g, Tensor dw, double beta) {
        int rows = s.rows, cols = s.cols, groups = cols / 4, tw = cols % 4, n = g.dim(1);
        double[] acc = new double[cols * n];
        for (int i = 0; i < acc.length; i++) acc[i] = beta == 0.0 ? 0.0 : beta * dw.get(i);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < groups; k++) {
                int m = s.meta.get(r * groups + k);
                addRow(acc, (4 * k + (m & 3)) * n, s.values.get(r * 2 * groups + 2 * k), g, r * n, n);
                addRow(acc, (4 * k + ((m >>> 2) & 3)) * n, s.values.get(r * 2 * groups + 2 * k + 1), g, r * n, n);
            }
            for (int t = 0; t < tw; t++) addRow(acc, (4 * groups + t) * n, s.tail.get(r * tw + t), g, r * n, n);
        }
        for (int i = 0; i < acc.length; i++) dw.set(i, acc[i]);
    }

    /** acc[off..off+n) += v * a[aOff..aOff+n) */
    private static void addRow(double[] acc, int off, double v, Tensor a, int aOff, int n) {
        for (int j = 0; j < n; j++) acc[off + j] += v * a.get(aOff + j);
    }

    void rmsNorm(Tensor x, Tensor w, double eps, Tensor out, Tensor invRms) {
        sameSize(x, out);
        int d = w.size, rows = x.size / d;
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double ss = 0;
            for (int j = 0; j < d; j++) { double v = x.get(o + j); ss += v * v; }
            double inv = 1.0 / Math.sqrt(ss / d + eps);
            invRms.set(r, inv);
            for (int j = 0; j < d; j++) out.set(o + j, w.get(j) * x.get(o + j) * inv);
        }
    }

    /** dx = inv * (dxhat - xhat * mean(dxhat * xhat)), dxhat = dOut * w; dW += sum_rows dOut * xhat. */
    void rmsNormBackward(Tensor x, Tensor w, Tensor invRms, Tensor dOut, Tensor dx, Tensor dW) {
        sameSize(x, dOut); sameSize(x, dx);
        int d = w.size, rows = x.size / d;
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double inv = invRms.get(r);
            double dot = 0;
            for (int j = 0; j < d; j++) {
                double xhat = x.get(o + j) * inv, dy = dOut.get(o + j);
                dot += dy * w.get(j) * xhat;
                dW.add(j, dy * xhat);
            }
            double mean = dot / d;
            for (int j = 0; j < d; j++) {
                double xhat = x.get(o + j) * inv;
                dx.set(o + j, inv * (dOut.get(o + j) * w.get(j) - xhat * mean));
            }
        }
    }

    /** Rotate-half RoPE: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin); inverse uses -sin. */
    void rope(Tensor x, int seqLen, int heads, Tensor cos, Tensor sin, boolean inverse) {
        int d = x.dim(1), hd = d / heads, half = hd / 2, rows = x.dim(0);
        double sign = inverse ? -1.0 : 1.0;
        for (int r = 0; r < rows; r++) {
            int t = r % seqLen;
            for (int h = 0; h < heads; h++) {
                int o = r * d + h * hd;
                for (int i = 0; i < half; i++) {
                    double c = cos.get(t * half + i), s = sign * sin.get(t * half + i);
                    double x1 = x.get(o + i), x2 = x.get(o + half + i);
                    x.set(o + i, x1 * c - x2 * s);
                    x.set(o + half + i, x2 * c + x1 * s);
                }
            }
        }
    }

    /** Row i of the [n, n] block at p0 becomes softmax over columns 0..i; columns above i become 0. */
    void causalSoftmaxRows(Tensor p, int p0, int n) {
        for (int i = 0; i < n; i++) {
            int row = p0 + i * n;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) max = Math.max(max, p.get(row + j));
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                double e = Math.exp(p.get(row + j) - max);
                p.set(row + j, e);
                sum += e;
            }
            double inv = 1.0 / sum;
            for (int j = 0; j <= i; j++) p.set(row + j, p.get(row + j) * inv);
            for (int j = i + 1; j < n; j++) p.set(row + j, 0.0);
        }
    }

    /** dS = P * (dP - sum_j dP_j P_j), in place over dP (scratch [n, n]); masked entries become 0. */
    void softmaxBackwardRows(Tensor p, int p0, Tensor dp, int n) {
        for (int i = 0; i < n; i++) {
            int row = p0 + i * n, drow = i * n;
            double dot = 0;
            for (int j = 0; j <= i; j++) dot += dp.get(drow + j) * p.get(row + j);
            for (int j = 0; j <= i; j++) dp.set(drow + j, p.get(row + j) * (dp.get(drow + j) - dot));
            for (int j = i + 1; j < n; j++) dp.set(drow + j, 0.0);
        }
    }

    void embedding(Tensor table, int[] ids, Tensor out) {
        int d = table.dim(1), vocab = table.dim(0);
        if (out.size != ids.length * d) throw new IllegalArgumentException("embedding output " + out + " does not hold " + ids.length + " rows of " + d);
        for (int n = 0; n < ids.length; n++) {
            int id = ids[n];
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " at position " + n + " outside vocabulary of " + vocab);
            for (int j = 0; j < d; j++) out.set(n * d + j, table.get(id * d + j));
        }
    }

    void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        int d = dTable.dim(1);
        for (int n = 0; n < ids.length; n++) {
            int o = ids[n] * d;
            for (int j = 0; j < d; j++) dTable.add(o + j, dOut.get(n * d + j));
        }
    }

    double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double gradScale) {
        int vocab = logits.dim(1), rows = logits.dim(0);
        if (targets.length != rows) throw new IllegalArgumentException(targets.length + " targets for " + rows + " rows of logits");
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int o = r * vocab, t = targets[r];
            if (t == ignoreIndex) {
                for (int j = 0; j < vocab; j++) logits.set(o + j, 0.0);
                continue;
            }
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("target id " + t + " at row " + r + " outside vocabulary of " + vocab);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) max = Math.max(max, logits.get(o + j));
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += Math.exp(logits.get(o + j) - max);
            double logSum = Math.log(sum) + max;
            total += logSum - logits.get(o + t);
            for (int j = 0; j < vocab; j++) logits.set(o + j, Math.exp(logits.get(o + j) - logSum) * gradScale);
            logits.add(o + t, -gradScale);
        }
        return total;
    }

    double dot(Tensor a, Tensor b) {
        sameSize(a, b);
        double s = 0;
        for (int i = 0; i < a.size; i++) s += a.get(i) * b.get(i);
        return s;
    }

    double sumOfSquares(Tensor t) {
        double s = 0;
        for (int i = 0; i < t.size; i++) { double v = t.get(i); s += v * v; }
        return s;
    }

    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        sameSize(p, g); sameSize(p, m); sameSize(p, v);
        double bc1 = 1.0 - Math.pow(b1, step), bc2 = 1.0 - Math.pow(b2, step);
        double stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2), decay = 1.0 - lr * wd;
        for (int i = 0; i < p.size; i++) {
            double gi = g.get(i);
            double mi = b1 * m.get(i) + (1 - b1) * gi;
            double vi = b2 * v.get(i) + (1 - b2) * gi * gi;
            m.set(i, mi);
            v.set(i, vi);
            // PyTorch order: decoupled decay first, then p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
            p.set(i, p.get(i) * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps));
        }
    }
}
