// Host test of 2:4 prune + compress (selection vs a stable sort by |x| bits, with ties, signed
// zeros, NaN and inf), decompress, and the compressed products against dense double products of
// the pruned matrix.
#include "../kernels/sparse24.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("sparse24", seed);
    const int rows = 29, cols = 43, n = 17, G = cols / 4, T = cols % 4;
    std::vector<float> x = rng.normals((size_t) rows * cols);
    const float pool[] = {1.0f, -1.0f, 0.5f, -0.5f, 0.0f, -0.0f, INFINITY, -INFINITY};
    for (auto& e : x)
        if (rng.below(3) == 0) e = pool[rng.below(8)];
    x[5] = std::nanf("");
    std::vector<float> vals((size_t) rows * 2 * G), tail((size_t) rows * T), dense((size_t) rows * cols);
    std::vector<uint8_t> meta((size_t) rows * G);
    long bad = 0;
    for (int r = 0; r < rows; r++) {
        for (int g = 0; g < G; g++) {
            lr::prune24_group(&x[(size_t) r * cols], g, &vals[(size_t) r * 2 * G], &meta[(size_t) r * G]);
            int i0, i1;
            ref::prune24_group(&x[(size_t) r * cols + 4 * g], &i0, &i1);
            if (meta[(size_t) r * G + g] != (uint8_t) (i0 | i1 << 2)) bad++;
        }
        for (int q = 0; q < T; q++) tail[(size_t) r * T + q] = x[(size_t) r * cols + 4 * G + q];
        for (int c = 0; c < cols; c++)
            dense[(size_t) r * cols + c] = lr::sparse24_entry(&vals[(size_t) r * 2 * G], &meta[(size_t) r * G], &tail[(size_t) r * T], G, c);
    }
    rep.check("prune24 selection (mismatching groups)", (double) bad, 0, "29x43");
    std::vector<float> pruned = ref::prune24_dense(x.data(), rows, cols);
    long dbad = 0;
    for (size_t i = 0; i < dense.size(); i++)
        if (std::memcmp(&dense[i], &pruned[i], 4) != 0) dbad++;
    rep.check("decompress24 bit-exact (mismatches)", (double) dbad, 0, "29x43");

    // products on finite data
    std::vector<float> xf = rng.normals((size_t) rows * cols), w = rng.normals((size_t) cols * n), gm = rng.normals((size_t) rows * n);
    for (int r = 0; r < rows; r++) {
        for (int g = 0; g < G; g++) lr::prune24_group(&xf[(size_t) r * cols], g, &vals[(size_t) r * 2 * G], &meta[(size_t) r * G]);
        for (int q = 0; q < T; q++) tail[(size_t) r * T + q] = xf[(size_t) r * cols + 4 * G + q];
    }
    std::vector<float> pf = ref::prune24_dense(xf.data(), rows, cols);
    std::vector<float> y((size_t) rows * n), dw((size_t) cols * n);
    std::vector<double> ry((size_t) rows * n), rdw((size_t) cols * n);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            y[(size_t) r * n + j] = lr::spmm24_row_dot(&vals[(size_t) r * 2 * G], &meta[(size_t) r * G], &tail[(size_t) r * T], G, T, w.data(), n, j);
    for (int c = 0; c < cols; c++)
        for (int j = 0; j < n; j++) {
            float s = 0;  // the spmm24_tn kernel's loop
            for (int r = 0; r < rows; r++)
                s += lr::sparse24_entry(&vals[(size_t) r * 2 * G], &meta[(size_t) r * G], &tail[(size_t) r * T], G, c) * gm[(size_t) r * n + j];
            dw[(size_t) c * n + j] = s;
        }
    ref::gemm(false, false, rows, n, cols, pf.data(), cols, w.data(), n, ry.data(), n);
    ref::gemm(true, false, cols, n, rows, pf.data(), cols, gm.data(), n, rdw.data(), n);
    rep.check("spmm24_nn S W", lrt::rel_err(y, ry, y.size()), 1e-6, "29x43 x 43x17");
    rep.check("spmm24_tn S^T G", lrt::rel_err(dw, rdw, dw.size()), 1e-6, "43x29 x 29x17");
    return rep.finish();
}
