// Host test of the AdamW element update (5 steps vs PyTorch's formula in double) and of the
// deterministic sliced sum of squares of the global gradient norm.
#include "../kernels/adamw.cuh"
#include "../kernels/global_norm.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("adamw_norm", seed);
    const int n = 10007;
    std::vector<float> p = rng.normals(n), m(n, 0.0f), v(n, 0.0f);
    std::vector<double> rp(p.begin(), p.end()), rm(n, 0.0), rv(n, 0.0);
    const double lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
    std::vector<float> p0 = p;
    for (int step = 1; step <= 5; step++) {
        std::vector<float> g = rng.normals(n);
        lr::AdamScalars a = lr::adam_scalars(lr, b1, b2, eps, wd, step);
        for (int i = 0; i < n; i++) {
            lr::adamw_element(&p[i], g[i], &m[i], &v[i], a);
            ref::adamw(rp[i], g[i], rm[i], rv[i], lr, b1, b2, eps, wd, step);
        }
    }
    std::vector<double> dp(n), rdp(n);
    for (int i = 0; i < n; i++) { dp[i] = (double) p[i] - p0[i]; rdp[i] = rp[i] - p0[i]; }
    rep.check("adamw p", lrt::rel_err(p, rp, n), 1e-6, "10007 x5 steps");
    rep.check("adamw update p - p0", lrt::rel_err(dp, rdp, n), 1e-4, "10007 x5 steps");
    rep.check("adamw m", lrt::rel_err(m, rm, n), 1e-6, "10007 x5 steps");
    rep.check("adamw v", lrt::rel_err(v, rv, n), 1e-6, "10007 x5 steps");

    // global norm over three tensors of odd sizes (one smaller than the slice count)
    const long long sizes[3] = {100003, 517, 3001};
    std::vector<double> partial(3 * lr::NORM_SLICES);
    double want = 0;
    for (int t = 0; t < 3; t++) {
        std::vector<float> x = rng.normals(sizes[t]);
        for (float e : x) want += (double) e * e;
        for (int s = 0; s < lr::NORM_SLICES; s++)
            partial[t * lr::NORM_SLICES + s] = lr::sumsq_slice(x.data(), sizes[t], s, lr::NORM_SLICES);
    }
    double got = lr::sum_partials(partial.data(), 3 * lr::NORM_SLICES);
    rep.check("global sum of squares", std::fabs(got - want) / want, 1e-12, "100003+517+3001");
    // dot product with the same slicing
    std::vector<float> a = rng.normals(20011), b = rng.normals(20011);
    double dwant = 0;
    for (size_t i = 0; i < a.size(); i++) dwant += (double) a[i] * b[i];
    for (int s = 0; s < lr::NORM_SLICES; s++) partial[s] = lr::dot_slice(a.data(), b.data(), 20011, s, lr::NORM_SLICES);
    double dgot = lr::sum_partials(partial.data(), lr::NORM_SLICES);
    double dnorm = 0;  // |a| |b|: the scale of the rounding of a dot product that may cancel
    for (size_t i = 0; i < a.size(); i++) dnorm += std::fabs((double) a[i] * b[i]);
    rep.check("dot (error / sum |a_i b_i|)", std::fabs(dgot - dwant) / dnorm, 1e-12, "20011");
    return rep.finish();
}
