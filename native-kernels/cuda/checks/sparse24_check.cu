// GPU check of 2:4 prune + compress, decompress and the compressed products against the host
// selection and dense double products of the pruned matrix (compiled, not yet run on a GPU).
#include "../kernels/sparse24.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("sparse24", seed);
    const int rows = 97, cols = 203, n = 45, G = cols / 4, T = cols % 4;
    std::vector<float> x = rng.normals((size_t) rows * cols);
    const float pool[] = {1.0f, -1.0f, 0.0f, -0.0f, INFINITY};
    for (auto& e : x)
        if (rng.below(5) == 0) e = pool[rng.below(5)];
    DevBuf<float> dx(x), vals((size_t) rows * 2 * G), tail((size_t) rows * T), dense((size_t) rows * cols);
    DevBuf<uint8_t> meta((size_t) rows * G);
    lr::prune24(dx.p, vals.p, meta.p, tail.p, rows, cols, 0);
    lr::decompress24(vals.p, meta.p, tail.p, dense.p, rows, cols, 0);
    std::vector<uint8_t> gm = meta.down();
    long bad = 0;
    for (int r = 0; r < rows; r++)
        for (int g = 0; g < G; g++) {
            int i0, i1;
            ref::prune24_group(&x[(size_t) r * cols + 4 * g], &i0, &i1);
            bad += gm[(size_t) r * G + g] != (uint8_t) (i0 | i1 << 2);
        }
    rep.check("prune24 selection (mismatching groups)", (double) bad, 0, "97x203");
    std::vector<float> pruned = ref::prune24_dense(x.data(), rows, cols), gd = dense.down();
    rep.check("decompress24 bit-exact (differing bytes)",
              (double) (std::memcmp(pruned.data(), gd.data(), gd.size() * 4) != 0), 0, "97x203");

    std::vector<float> xf = rng.normals((size_t) rows * cols), w = rng.normals((size_t) cols * n),
                       gmat = rng.normals((size_t) rows * n), y0 = rng.normals((size_t) rows * n), w0 = rng.normals((size_t) cols * n);
    dx.up(xf);
    lr::prune24(dx.p, vals.p, meta.p, tail.p, rows, cols, 0);
    std::vector<float> pf = ref::prune24_dense(xf.data(), rows, cols);
    DevBuf<float> dw_(w), dg(gmat), y(y0), dw(w0);
    lr::spmm24_nn(vals.p, meta.p, tail.p, dw_.p, y.p, rows, cols, n, 0.5f, 0);
    lr::spmm24_tn(vals.p, meta.p, tail.p, dg.p, dw.p, rows, cols, n, 0.0f, 0);
    std::vector<double> ry((size_t) rows * n), rdw((size_t) cols * n);
    ref::gemm(false, false, rows, n, cols, pf.data(), cols, w.data(), n, ry.data(), n);
    ref::gemm(true, false, cols, n, rows, pf.data(), cols, gmat.data(), n, rdw.data(), n);
    for (size_t i = 0; i < ry.size(); i++) ry[i] += 0.5 * y0[i];
    rep.check("spmm24_nn S W + 0.5 Y", lrt::rel_err(y.down(), ry, ry.size()), 1e-5, "97x203 x 203x45");
    rep.check("spmm24_tn S^T G", lrt::rel_err(dw.down(), rdw, rdw.size()), 1e-5, "203x97 x 97x45");
    if (bench_mode(argc, argv)) {
        const int R = 8192, Cc = 2752;
        DevBuf<float> a((size_t) R * Cc), v((size_t) R * Cc / 2), tl(1);
        DevBuf<uint8_t> mt((size_t) R * Cc / 4);
        bench_line("prune24", "8192x2752", bench_us([&] { lr::prune24(a.p, v.p, mt.p, tl.p, R, Cc, 0); }), 6.25 * R * Cc);
        bench_line("decompress24", "8192x2752", bench_us([&] { lr::decompress24(v.p, mt.p, tl.p, a.p, R, Cc, 0); }), 6.25 * R * Cc);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
