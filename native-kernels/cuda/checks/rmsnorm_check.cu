// GPU check of RMSNorm forward (warp per row) and backward (dx warp per row, dw one thread per
// column over the rows in order) against double loops (compiled, not yet run on a GPU).
#include "../kernels/rmsnorm.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("rmsnorm", seed);
    const int rows = 301, d = 515;
    const float eps = 1e-5f;
    size_t n = (size_t) rows * d;
    std::vector<float> x = rng.normals(n), w = rng.normals(d), g = rng.normals(n), dw0 = rng.normals(d);
    DevBuf<float> dx_(x), dw_(w), dg(g), out(n), inv(rows), dx(n), dw(dw0);
    lr::rmsnorm_forward(dx_.p, dw_.p, out.p, inv.p, rows, d, eps, 0);
    lr::rmsnorm_backward(dx_.p, dw_.p, inv.p, dg.p, dx.p, dw.p, rows, d, 0);
    std::vector<double> rout(n), rdx(n), rdw(dw0.begin(), dw0.end()), rinv(rows);
    for (int r = 0; r < rows; r++) {
        rinv[r] = ref::rmsnorm_row(&x[r * d], w.data(), d, eps, &rout[r * d]);
        ref::rmsnorm_backward_row(&x[r * d], w.data(), &g[r * d], d, eps, &rdx[r * d], rdw.data());
    }
    rep.check("rmsnorm forward", lrt::rel_err(out.down(), rout, n), 1e-6, "301x515");
    rep.check("rmsnorm inv", lrt::rel_err(inv.down(), rinv, rows), 1e-6, "301x515");
    rep.check("rmsnorm backward dx", lrt::rel_err(dx.down(), rdx, n), 1e-5, "301x515");
    rep.check("rmsnorm backward dw (accumulated)", lrt::rel_err(dw.down(), rdw, d), 1e-5, "301x515");
    if (bench_mode(argc, argv)) {
        const int R = 8192, D = 1024;
        DevBuf<float> a((size_t) R * D), b(D), c((size_t) R * D), i(R), e((size_t) R * D), f(D);
        bench_line("rmsnorm_forward", "8192x1024", bench_us([&] { lr::rmsnorm_forward(a.p, b.p, c.p, i.p, R, D, eps, 0); }), 8.0 * R * D);
        bench_line("rmsnorm_backward", "8192x1024", bench_us([&] { lr::rmsnorm_backward(a.p, b.p, i.p, c.p, e.p, f.p, R, D, 0); }), 20.0 * R * D);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
