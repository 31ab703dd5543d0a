// GPU check of attention's causal softmax (forward / backward, warp per row) and the head
// permutes (compiled, not yet run on a GPU). The products around them are matmul_check's.
#include "../kernels/attention.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("attention", seed);
    const int BH = 11, T = 77;
    const float scale = 0.125f;
    const long long rows = (long long) BH * T;
    size_t n = (size_t) rows * T;
    std::vector<float> s = rng.normals(n, 4.0f), dp = rng.normals(n);
    DevBuf<float> ds_(s), ddp(dp), p(n), ds(n);
    lr::causal_softmax(ds_.p, p.p, rows, T, scale, 0);
    std::vector<float> gp = p.down();
    lr::causal_softmax_backward(p.p, ddp.p, ds.p, rows, T, scale, 0);
    std::vector<double> rp(n), rds(n);
    for (long long r = 0; r < rows; r++) {
        int t = (int) (r % T);
        ref::causal_softmax_row(&s[r * T], t, T, scale, &rp[r * T]);
        ref::causal_softmax_backward_row(&rp[r * T], &dp[r * T], t, T, scale, &rds[r * T]);
    }
    rep.check("causal softmax forward", lrt::rel_err(gp, rp, n), 1e-6, "11x77x77");
    rep.check("causal softmax backward", lrt::rel_err(ds.down(), rds, n), 5e-6, "11x77x77");
    lr::causal_softmax_backward(p.p, ddp.p, ddp.p, rows, T, scale, 0);  // in place
    rep.check("causal softmax backward in place", lrt::rel_err(ddp.down(), rds, n), 5e-6, "11x77x77");

    const int B = 2, Tq = 13, H = 3, hd = 10;
    size_t m = (size_t) B * Tq * H * hd;
    std::vector<float> q = rng.normals(m), acc = rng.normals(m);
    DevBuf<float> dq(q), heads(m), back(acc);
    lr::permute_to_heads(dq.p, heads.p, B, Tq, H, hd, 0);
    std::vector<float> gh = heads.down();
    long bad = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < Tq; t++)
                for (int i = 0; i < hd; i++)
                    bad += gh[(((size_t) b * H + h) * Tq + t) * hd + i] != q[((size_t) b * Tq + t) * H * hd + h * hd + i];
    rep.check("permute to heads (mismatches)", (double) bad, 0, "B2 T13 H3 hd10");
    lr::permute_from_heads(heads.p, back.p, B, Tq, H, hd, true, 0);
    std::vector<double> want(m);
    for (size_t i = 0; i < m; i++) want[i] = (double) acc[i] + q[i];
    rep.check("permute from heads, accumulate", lrt::rel_err(back.down(), want, m), 1e-7, "B2 T13 H3 hd10");
    if (bench_mode(argc, argv)) {
        const int BHb = 8 * 16, Tb = 1024;
        const long long R = (long long) BHb * Tb;
        DevBuf<float> a((size_t) R * Tb), b((size_t) R * Tb);
        bench_line("causal_softmax", "128x1024x1024", bench_us([&] { lr::causal_softmax(a.p, b.p, R, Tb, 0.125f, 0); }), 8.0 * R * Tb);
        bench_line("causal_softmax_backward", "128x1024x1024", bench_us([&] { lr::causal_softmax_backward(a.p, b.p, b.p, R, Tb, 0.125f, 0); }), 12.0 * R * Tb);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
