// Host test of the LR_HD element-wise pieces: bf16 rounding (against the nearest of the two
// bf16 neighbours chosen in double, ties to even) and axpy.
#include "../kernels/elementwise.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("elementwise", seed);
    const int n = 100003;
    // bf16 rounding: exact nearest-even by brute force over the two candidates
    long bad = 0;
    std::vector<float> xs = rng.normals(n, 100.0f);
    xs[0] = 0.0f; xs[1] = -0.0f; xs[2] = 1.0f + 1.0f / 256.0f;  // a tie: 1 + 2^-8 rounds to even (1.0)
    for (int i = 0; i < n; i++) {
        float x = xs[i];
        uint32_t u; std::memcpy(&u, &x, 4);
        uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
        float flo, fhi; std::memcpy(&flo, &lo, 4); std::memcpy(&fhi, &hi, 4);
        double dlo = std::fabs((double) x - flo), dhi = std::fabs((double) x - fhi);
        float want = dlo < dhi ? flo : (dhi < dlo ? fhi : (((lo >> 16) & 1) == 0 ? flo : fhi));
        if (lr::round_bf16(x) != want) bad++;
    }
    rep.check("round_bf16 nearest-even (count of mismatches)", (double) bad, 0, "100003");
    float nan = std::nanf("");
    rep.check("round_bf16(NaN) is NaN", std::isnan(lr::round_bf16(nan)) ? 0.0 : 1.0, 0, "1");
    std::vector<float> x = rng.normals(n), y = rng.normals(n), out(n);
    std::vector<double> want(n);
    for (int i = 0; i < n; i++) {
        out[i] = lr::axpy_element(0.37f, x[i], y[i]);
        want[i] = (double) y[i] + 0.37 * x[i];
    }
    rep.check("axpy", lrt::rel_err(out, want, n), 2e-7, "100003");
    return rep.finish();
}
