// Host test of the fused classifier row (loss and in-place dlogits, ignore index) against double.
#include "../kernels/classifier.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("classifier", seed);
    const int rows = 19, V = 1031, ignore = -100;
    const float scale = 1.0f / 17.0f;
    std::vector<float> x = rng.normals((size_t) rows * V, 3.0f), dx = x;
    std::vector<int> t(rows);
    for (int r = 0; r < rows; r++) t[r] = r == 5 ? ignore : rng.below(V);
    x[3 * V + t[3]] = 40.0f;  // a row with p_t ~ 1: the cancelling entry
    dx = x;
    std::vector<double> rdx((size_t) rows * V, 0.0);
    double loss = 0, rloss = 0;
    for (int r = 0; r < rows; r++) {
        loss += lr::cross_entropy_row(&dx[(size_t) r * V], V, t[r], ignore, scale);
        if (t[r] != ignore) rloss += ref::cross_entropy_row(&x[(size_t) r * V], V, t[r], scale, &rdx[(size_t) r * V]);
    }
    rep.check("cross entropy dlogits", lrt::rel_err(dx, rdx, dx.size()), 2e-6, "19x1031");
    rep.check("cross entropy loss", std::fabs(loss - rloss) / std::fabs(rloss), 1e-6, "19x1031");
    double target_err = std::fabs(dx[3 * V + t[3]] - rdx[3 * V + t[3]]) / std::fabs(rdx[3 * V + t[3]]);
    // one element: x - m with m = 40 rounds by ~40 ulp(1) = 2.4e-6, which exp turns into relative error
    rep.check("target entry at p_t ~ 1", target_err, 1e-5, "1");
    return rep.finish();
}
