// GPU check of AdamW (fp32 master weights and moments, optional bf16 copy of p) over 5 steps
// against PyTorch's formula in double (compiled, not yet run on a GPU).
#include "../kernels/adamw.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("adamw", seed);
    const long long n = 100019;
    std::vector<float> p = rng.normals(n), zero(n, 0.0f);
    DevBuf<float> dp(p), dm(zero), dv(zero), dg(n);
    DevBuf<uint16_t> pb(n);
    std::vector<double> rp(p.begin(), p.end()), rm(n, 0.0), rv(n, 0.0);
    const double lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
    for (int step = 1; step <= 5; step++) {
        std::vector<float> g = rng.normals(n);
        dg.up(g);
        lr::adamw(dp.p, dg.p, dm.p, dv.p, pb.p, n, lr::adam_scalars(lr, b1, b2, eps, wd, step), 0);
        for (long long i = 0; i < n; i++) ref::adamw(rp[i], g[i], rm[i], rv[i], lr, b1, b2, eps, wd, step);
    }
    std::vector<float> gp = dp.down();
    std::vector<double> up(n), rup(n);
    for (long long i = 0; i < n; i++) { up[i] = (double) gp[i] - p[i]; rup[i] = rp[i] - p[i]; }
    rep.check("adamw p", lrt::rel_err(gp, rp, n), 1e-6, "100019 x5");
    rep.check("adamw update p - p0", lrt::rel_err(up, rup, n), 1e-4, "100019 x5");
    rep.check("adamw m", lrt::rel_err(dm.down(), rm, n), 1e-6, "100019 x5");
    rep.check("adamw v", lrt::rel_err(dv.down(), rv, n), 1e-6, "100019 x5");
    std::vector<uint16_t> b = pb.down();
    long bad = 0;
    for (long long i = 0; i < n; i++) bad += b[i] != lr::f32_to_bf16_bits(gp[i]);
    rep.check("bf16 copy of p (mismatches)", (double) bad, 0, "100019");
    if (bench_mode(argc, argv)) {
        const long long big = 350ll << 20;  // ~350M parameters
        DevBuf<float> a(big), g(big), m(big), v(big);
        lr::AdamScalars s = lr::adam_scalars(lr, b1, b2, eps, wd, 10);
        bench_line("adamw", "350Mi", bench_us([&] { lr::adamw(a.p, g.p, m.p, v.p, nullptr, big, s, 0); }, 5), 28.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
