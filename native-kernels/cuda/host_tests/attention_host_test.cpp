// Host test of the causal softmax rows (forward, backward) and of the [B*T, H*hd] <-> [B,H,T,hd]
// index map the permute kernels use.
#include "../kernels/attention.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("attention_softmax", seed);
    const int BH = 7, T = 67;
    const float scale = 0.125f;
    size_t n = (size_t) BH * T * T;
    std::vector<float> s = rng.normals(n, 4.0f), dp = rng.normals(n), p(n), ds(n);
    std::vector<double> rp(n), rds(n);
    for (int b = 0; b < BH; b++)
        for (int t = 0; t < T; t++) {
            size_t o = ((size_t) b * T + t) * T;
            lr::causal_softmax_row(&s[o], t, T, scale, &p[o]);
            lr::causal_softmax_backward_row(&p[o], &dp[o], t, T, scale, &ds[o]);
            ref::causal_softmax_row(&s[o], t, T, scale, &rp[o]);
            ref::causal_softmax_backward_row(&rp[o], &dp[o], t, T, scale, &rds[o]);
        }
    rep.check("causal softmax forward", lrt::rel_err(p, rp, n), 1e-6, "7x67x67");
    rep.check("causal softmax backward", lrt::rel_err(ds, rds, n), 1e-6, "7x67x67");
    // permute: every index of [B, H, T, hd] maps to a distinct index of [B*T, H*hd], namely (b t, h i)
    const int B = 3, H = 5, hd = 9, Tp = 11;
    long long total = (long long) B * H * Tp * hd, bad = 0;
    std::vector<int> hit(total, 0);
    for (long long k = 0; k < total; k++) {
        long long r = lr::bthd_to_rows(k, Tp, H, hd);
        long long i = k % hd, t = (k / hd) % Tp, h = (k / hd / Tp) % H, b = k / hd / Tp / H;
        if (r != (b * Tp + t) * H * hd + h * hd + i || r < 0 || r >= total || hit[r]++) bad++;
    }
    rep.check("permute index map (mismatches)", (double) bad, 0, "B3 H5 T11 hd9");
    return rep.finish();
}
