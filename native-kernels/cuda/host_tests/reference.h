// Plain double-precision references: the slow, obvious definition of every kernel family.
// Independent of the LR_HD functions they check (no shared code), used both by the host tests
// and by the GPU checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ref {

inline double sigmoid(double h) { return 1.0 / (1.0 + std::exp(-h)); }
inline double silu(double h) { return h * sigmoid(h); }
inline double silu_grad(double h) { double s = sigmoid(h); return s + h * s * (1.0 - s); }

inline double relu(double x) { return std::isnan(x) ? x : (x > 0 ? x : 0.0); }

// RMSNorm of one row; returns 1/rms.
inline double rmsnorm_row(const float* x, const float* w, int d, double eps, double* out) {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double) x[i] * x[i];
    double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int i = 0; i < d; i++) out[i] = (double) w[i] * x[i] * inv;
    return inv;
}

// d/dx and d/dw of sum(dout * rmsnorm(x)) for one row (inv recomputed in double).
inline void rmsnorm_backward_row(const float* x, const float* w, const float* dout, int d, double eps,
                                 double* dx, double* dw) {
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double) x[i] * x[i];
    double inv = 1.0 / std::sqrt(ss / d + eps);
    double dot = 0;
    for (int i = 0; i < d; i++) dot += (double) dout[i] * w[i] * x[i];
    for (int i = 0; i < d; i++) {
        dx[i] = inv * ((double) dout[i] * w[i]) - (double) x[i] * inv * inv * inv * dot / d;
        dw[i] += (double) dout[i] * x[i] * inv;
    }
}

// Causal softmax of one score row at query position t (entries 0..t valid, the rest 0).
inline void causal_softmax_row(const float* s, int t, int T, double scale, double* p) {
    double m = -INFINITY;
    for (int j = 0; j <= t; j++) m = std::max(m, scale * s[j]);
    double z = 0;
    for (int j = 0; j <= t; j++) z += std::exp(scale * s[j] - m);
    for (int j = 0; j < T; j++) p[j] = j <= t ? std::exp(scale * s[j] - m) / z : 0.0;
}

// Gradient wrt the raw scores s of sum(dp * softmax(scale * s)), given p.
inline void causal_softmax_backward_row(const double* p, const float* dp, int t, int T, double scale, double* ds) {
    double dot = 0;
    for (int j = 0; j <= t; j++) dot += p[j] * dp[j];
    for (int j = 0; j < T; j++) ds[j] = j <= t ? scale * p[j] * (dp[j] - dot) : 0.0;
}

// Cross-entropy row: returns the loss, writes scale * (softmax - onehot).
inline double cross_entropy_row(const float* x, int V, int t, double scale, double* dx) {
    double m = -INFINITY;
    for (int j = 0; j < V; j++) m = std::max(m, (double) x[j]);
    double z = 0;
    for (int j = 0; j < V; j++) z += std::exp((double) x[j] - m);
    double others = 0;  // z - e_t without cancellation
    for (int j = 0; j < V; j++)
        if (j != t) others += std::exp((double) x[j] - m);
    for (int j = 0; j < V; j++) dx[j] = j == t ? -scale * others / z : scale * std::exp((double) x[j] - m) / z;
    return std::log(z) + m - x[t];
}

// PyTorch AdamW, all in double.
inline void adamw(double& p, double g, double& m, double& v, double lr, double b1, double b2, double eps,
                  double wd, long step) {
    p = p * (1 - lr * wd);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    double mhat = m / (1 - std::pow(b1, (double) step)), vhat = v / (1 - std::pow(b2, (double) step));
    p -= lr * mhat / (std::sqrt(vhat) + eps);
}

// 2:4 selection of one group: sort the 4 indices by (|x| bits descending, index ascending) and
// keep the first two, in index order.
inline void prune24_group(const float* x, int* i0, int* i1) {
    int idx[4] = {0, 1, 2, 3};
    auto key = [&](int i) { uint32_t u; std::memcpy(&u, &x[i], 4); return u & 0x7FFFFFFFu; };
    std::stable_sort(idx, idx + 4, [&](int a, int b) { return key(a) > key(b); });
    *i0 = std::min(idx[0], idx[1]);
    *i1 = std::max(idx[0], idx[1]);
}

// The dense matrix a 2:4 pruning leaves: X with the two dropped entries of every group zeroed.
inline std::vector<float> prune24_dense(const float* x, int rows, int cols) {
    std::vector<float> out(x, x + (size_t) rows * cols);
    for (int r = 0; r < rows; r++)
        for (int g = 0; g < cols / 4; g++) {
            int i0, i1;
            prune24_group(x + (size_t) r * cols + 4 * g, &i0, &i1);
            for (int q = 0; q < 4; q++)
                if (q != i0 && q != i1) out[(size_t) r * cols + 4 * g + q] = 0.0f;
        }
    return out;
}

// C[m,n] = op(A) op(B), row-major, double accumulation.
inline void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                 double* c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += (double) (ta ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p]) *
                     (double) (tb ? b[(size_t) j * ldb + p] : b[(size_t) p * ldb + j]);
            c[(size_t) i * ldc + j] = s;
        }
}

/** RoPE tables cos/sin [T, hd/2] as RopeTable builds them: angle p * 10000^(-2i/hd), rounded to float. */
inline void rope_tables(int T, int hd, std::vector<float>& cs, std::vector<float>& sn) {
    const int half = hd / 2;
    cs.assign((size_t) T * half, 0.0f);
    sn.assign((size_t) T * half, 0.0f);
    for (int p = 0; p < T; p++)
        for (int i = 0; i < half; i++) {
            double ang = p * std::pow(10000.0, -2.0 * i / hd);
            cs[p * half + i] = (float) std::cos(ang);
            sn[p * half + i] = (float) std::sin(ang);
        }
}

/** RoPE forward (rotate-half pairs) of x [rows, H * hd] in double; row r is at position r % T. */
inline std::vector<double> rope_forward(const std::vector<float>& x, const std::vector<float>& cs, const std::vector<float>& sn,
                                        long long rows, int T, int H, int hd) {
    const int half = hd / 2;
    std::vector<double> y(x.size());
    for (long long r = 0; r < rows; r++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < half; i++) {
                long long b0 = r * H * hd + h * hd;
                int pos = (int) (r % T);
                double c = cs[pos * half + i], s = sn[pos * half + i];
                y[b0 + i] = x[b0 + i] * c - x[b0 + half + i] * s;
                y[b0 + half + i] = x[b0 + i] * s + x[b0 + half + i] * c;
            }
    return y;
}

}  // namespace ref
