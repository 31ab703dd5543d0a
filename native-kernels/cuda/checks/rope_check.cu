// GPU check of RoPE forward and inverse in place (compiled, not yet run on a GPU).
#include "../kernels/rope.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("rope", seed);
    const int B = 3, T = 37, H = 5, hd = 22;
    const long long rows = (long long) B * T, m = rows * H * hd;
    std::vector<float> cs, sn;
    ref::rope_tables(T, hd, cs, sn);
    std::vector<float> q = rng.normals(m);
    DevBuf<float> dq(q), dc(cs), ds(sn);
    lr::rope(dq.p, dc.p, ds.p, rows, T, H, hd, false, 0);
    std::vector<double> want = ref::rope_forward(q, cs, sn, rows, T, H, hd);
    rep.check("rope forward", lrt::rel_err(dq.down(), want, m), 1e-6, "B3 T37 H5 hd22");
    lr::rope(dq.p, dc.p, ds.p, rows, T, H, hd, true, 0);
    rep.check("rope inverse(forward(x)) = x", lrt::rel_err(dq.down(), q, m), 1e-6, "B3 T37 H5 hd22");
    if (bench_mode(argc, argv)) {
        const int BT = 8192, HH = 16, D = 64, TT = 1024;
        DevBuf<float> x((size_t) BT * HH * D), c((size_t) TT * D / 2), s((size_t) TT * D / 2);
        bench_line("rope", "8192x16x64", bench_us([&] { lr::rope(x.p, c.p, s.p, BT, TT, HH, D, false, 0); }), 8.0 * BT * HH * D);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
