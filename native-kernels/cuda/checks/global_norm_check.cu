// GPU check of the deterministic global sum of squares over several tensors (compiled, not yet
// run on a GPU): against double, and bit-identical across two runs.
#include "../kernels/global_norm.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("global_norm", seed);
    const long long sizes[3] = {1000003, 517, 30011};
    DevBuf<double> partial(3 * lr::NORM_SLICES);
    DevBuf<double> out(2);
    std::vector<DevBuf<float>*> ts;
    double want = 0;
    for (int t = 0; t < 3; t++) {
        std::vector<float> x = rng.normals(sizes[t]);
        for (float e : x) want += (double) e * e;
        ts.push_back(new DevBuf<float>(x));
    }
    for (int run = 0; run < 2; run++) {
        for (int t = 0; t < 3; t++) lr::sumsq_partials(ts[t]->p, sizes[t], partial.p + t * lr::NORM_SLICES, 0);
        lr::sum_partials(partial.p, 3 * lr::NORM_SLICES, out.p + run, 0);
    }
    std::vector<double> got = out.down();
    rep.check("global sum of squares", std::fabs(got[0] - want) / want, 1e-12, "1000003+517+30011");
    rep.check("deterministic (runs differ)", got[0] == got[1] ? 0.0 : 1.0, 0, "2 runs");
    for (auto* t : ts) delete t;
    if (bench_mode(argc, argv)) {
        const long long big = 64ll << 20;
        DevBuf<float> a(big);
        bench_line("sumsq_partials", "64Mi", bench_us([&] { lr::sumsq_partials(a.p, big, partial.p, 0); }), 4.0 * big);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
