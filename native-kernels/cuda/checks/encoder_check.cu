// GPU check of the embedding forward and the deterministic backward (buckets built on the host),
// run twice to show bit-identical results (compiled, not yet run on a GPU).
#include "../kernels/encoder.cuh"
#include "gpu_util.cuh"

int main(int argc, char** argv) {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("encoder", seed);
    const int n = 1001, V = 503, C = 77;
    std::vector<int> ids(n), counts(V), uniq(V), starts(V + 1), order(n);
    for (auto& i : ids) i = rng.below(V / 4);
    std::vector<float> table = rng.normals((size_t) V * C), dout = rng.normals((size_t) n * C);
    DevBuf<float> dtab(table), out((size_t) n * C), dd(dout), dtable(table), dtable2(table);
    DevBuf<int> dids(ids);
    lr::embedding_forward(dtab.p, dids.p, out.p, n, C, 0);
    std::vector<float> o = out.down();
    long bad = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) bad += o[(size_t) i * C + c] != table[(size_t) ids[i] * C + c];
    rep.check("embedding forward (mismatches)", (double) bad, 0, "n1001 V503 C77");
    int u = lr::embedding_buckets(ids.data(), n, V, counts.data(), uniq.data(), starts.data(), order.data());
    DevBuf<int> du(uniq), ds(starts), dor(order);
    lr::embedding_backward(dtable.p, dd.p, C, du.p, ds.p, dor.p, u, 0);
    lr::embedding_backward(dtable2.p, dd.p, C, du.p, ds.p, dor.p, u, 0);
    std::vector<double> want(table.begin(), table.end());
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) want[(size_t) ids[i] * C + c] += dout[(size_t) i * C + c];
    std::vector<float> g1 = dtable.down(), g2 = dtable2.down();
    rep.check("embedding backward", lrt::rel_err(g1, want, g1.size()), 1e-6, "n1001 V503 C77");
    rep.check("embedding backward deterministic (differing bytes)",
              (double) (std::memcmp(g1.data(), g2.data(), g1.size() * 4) != 0), 0, "n1001 V503 C77");
    if (bench_mode(argc, argv)) {
        const int N = 8192, VV = 32000, CC = 1024;
        std::vector<int> bi(N), bc(VV), bu(VV), bs(VV + 1), bo(N);
        for (auto& e : bi) e = rng.below(VV);
        int bu_n = lr::embedding_buckets(bi.data(), N, VV, bc.data(), bu.data(), bs.data(), bo.data());
        DevBuf<float> tab((size_t) VV * CC), go((size_t) N * CC);
        DevBuf<int> a(bi), b(bu), c(bs), d(bo);
        bench_line("embedding_forward", "8192x1024", bench_us([&] { lr::embedding_forward(tab.p, a.p, go.p, N, CC, 0); }), 8.0 * N * CC);
        bench_line("embedding_backward", "8192x1024", bench_us([&] { lr::embedding_backward(tab.p, go.p, CC, b.p, c.p, d.p, bu_n, 0); }), 12.0 * N * CC);
    }
    CK(cudaGetLastError());
    return rep.finish();
}
