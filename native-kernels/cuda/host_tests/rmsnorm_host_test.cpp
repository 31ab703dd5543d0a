// Host test of RMSNorm's row pieces (forward, dx) against double loops, plus the deterministic
// dw column sum the dw kernel runs.
#include "../kernels/rmsnorm.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("rmsnorm", seed);
    const int rows = 37, d = 515;
    const float eps = 1e-5f;
    std::vector<float> x = rng.normals((size_t) rows * d), w = rng.normals(d), g = rng.normals((size_t) rows * d);
    for (auto& v : w) v += 1.0f;
    std::vector<float> out((size_t) rows * d), dx((size_t) rows * d), inv(rows), dw(d, 0.5f);
    std::vector<double> rout((size_t) rows * d), rdx((size_t) rows * d), rdw(d, 0.5);
    for (int r = 0; r < rows; r++) {
        inv[r] = lr::rmsnorm_forward_row(&x[r * d], w.data(), d, eps, &out[r * d]);
        lr::rmsnorm_backward_row(&x[r * d], w.data(), inv[r], &g[r * d], d, &dx[r * d]);
        ref::rmsnorm_row(&x[r * d], w.data(), d, eps, &rout[r * d]);
        ref::rmsnorm_backward_row(&x[r * d], w.data(), &g[r * d], d, eps, &rdx[r * d], rdw.data());
    }
    for (int j = 0; j < d; j++) {  // the dw kernel's loop
        float s = 0.0f;
        for (int r = 0; r < rows; r++) s += g[(size_t) r * d + j] * x[(size_t) r * d + j] * inv[r];
        dw[j] += s;
    }
    rep.check("rmsnorm forward", lrt::rel_err(out, rout, out.size()), 1e-6, "37x515");
    rep.check("rmsnorm backward dx", lrt::rel_err(dx, rdx, dx.size()), 1e-6, "37x515");
    rep.check("rmsnorm backward dw (+= 0.5)", lrt::rel_err(dw, rdw, d), 1e-6, "37x515");
    return rep.finish();
}
