// Host test of ELAS's squared ReLU (bit-exact vs the double product rounded once) and RoPE
// (forward vs double rotation, inverse(forward(x)) = x).
#include "../kernels/relu2.cuh"
#include "../kernels/rope.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("relu2_rope", seed);
    const int n = 40009;
    std::vector<float> x = rng.normals(n), dy = rng.normals(n);
    long bad = 0;
    for (int i = 0; i < n; i++) {
        double r = ref::relu(x[i]);
        if (lr::relu_square(x[i]) != (float) (r * r)) bad++;
        if (lr::relu_square_grad(x[i], dy[i]) != (float) (2.0 * r * dy[i])) bad++;
    }
    rep.check("relu_square fwd+bwd bit-exact (mismatches)", (double) bad, 0, "40009");
    rep.check("relu_square(NaN) is NaN", std::isnan(lr::relu_square(std::nanf(""))) ? 0.0 : 1.0, 0, "1");

    const int B = 3, T = 13, H = 5, hd = 18, half = hd / 2;
    const long long rows = (long long) B * T, m = rows * H * hd;
    std::vector<float> cs, sn;
    ref::rope_tables(T, hd, cs, sn);
    std::vector<float> q = rng.normals(m), y = q;
    for (long long k = 0; k < rows * H * half; k++) lr::rope_apply_item(y.data(), cs.data(), sn.data(), k, T, H, hd, false);
    std::vector<double> want = ref::rope_forward(q, cs, sn, rows, T, H, hd);
    rep.check("rope forward", lrt::rel_err(y, want, m), 1e-6, "B3 T13 H5 hd18");
    for (long long k = 0; k < rows * H * half; k++) lr::rope_apply_item(y.data(), cs.data(), sn.data(), k, T, H, hd, true);
    rep.check("rope inverse(forward(x)) = x", lrt::rel_err(y, q, m), 1e-6, "B3 T13 H5 hd18");
    return rep.finish();
}
