// GPU check of the fused classifier: losses and in-place dlogits against double (compiled, not
// yet run on a GPU).
#include "../kernels/classifier.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("classifier", seed);
    const int rows = 37, V = 32003, ignore = -100;
    const float scale = 1.0f / 33.0f;
    size_t n = (size_t) rows * V;
    std::vector<float> x = rng.normals(n, 3.0f);
    std::vector<int> t(rows);
    for (int r = 0; r < rows; r++) t[r] = r == 4 ? ignore : rng.below(V);
    x[(size_t) 2 * V + t[2]] = 60.0f;  // p_t ~ 1
    DevBuf<float> dx(x), loss(rows);
    DevBuf<int> dt(t);
    lr::cross_entropy(dx.p, dt.p, loss.p, rows, V, ignore, scale, 0);
    std::vector<double> rdx(n, 0.0), rl(rows, 0.0);
    for (int r = 0; r < rows; r++)
        if (t[r] != ignore) rl[r] = ref::cross_entropy_row(&x[(size_t) r * V], V, t[r], scale, &rdx[(size_t) r * V]);
    std::vector<float> g = dx.down();
    rep.check("cross entropy dlogits", lrt::rel_err(g, rdx, n), 2e-6, "37x32003");
    rep.check("cross entropy losses", lrt::rel_err(loss.down(), rl, rows), 1e-6, "37x32003");
    double te = std::fabs(g[(size_t) 2 * V + t[2]] - rdx[(size_t) 2 * V + t[2]]) / std::fabs(rdx[(size_t) 2 * V + t[2]]);
    // one element: x - m with m = 60 rounds by ~4e-6 relative, which exp passes on
    rep.check("target entry at p_t ~ 1", te, 2e-5, "1");
    if (bench_mode(argc, argv)) {
        const int R = 8192, VV = 32000;
        DevBuf<float> a((size_t) R * VV), l(R);
        std::vector<int> tt(R);
        for (auto& e : tt) e = rng.below(VV);
        DevBuf<int> dtt(tt);
        bench_line("cross_entropy", "8192x32000", bench_us([&] { lr::cross_entropy(a.p, dtt.p, l.p, R, VV, ignore, 1.0f / R, 0); }), 12.0 * R * VV);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
