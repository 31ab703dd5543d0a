// Host test of the deterministic embedding backward: buckets (stable counting sort) + per-bucket
// ordered sums, against the naive scatter-add in double; bad ids are rejected.
#include "../kernels/encoder.cuh"
#include "check_util.h"
#include "reference.h"

int main() {
    uint64_t seed = lrt::fresh_seed();
    lrt::Rng rng(seed);
    lrt::Report rep("encoder", seed);
    const int n = 301, V = 97, C = 33;
    std::vector<int> ids(n), counts(V), uniq(V), starts(V + 1), order(n);
    for (auto& i : ids) i = rng.below(V / 3);  // many repeats
    std::vector<float> dout = rng.normals((size_t) n * C), dtable = rng.normals((size_t) V * C);
    std::vector<double> want(dtable.begin(), dtable.end());
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) want[(size_t) ids[i] * C + c] += dout[(size_t) i * C + c];
    int u = lr::embedding_buckets(ids.data(), n, V, counts.data(), uniq.data(), starts.data(), order.data());
    long bad = 0;
    for (int b = 0; b < u; b++)
        for (int k = starts[b]; k < starts[b + 1]; k++)
            if (ids[order[k]] != uniq[b] || (k > starts[b] && order[k] <= order[k - 1])) bad++;
    rep.check("buckets group ids stably (mismatches)", (double) bad + (starts[u] != n), 0, "301");
    for (int b = 0; b < u; b++)
        for (int c = 0; c < C; c++)
            dtable[(size_t) uniq[b] * C + c] += lr::embedding_bucket_sum(dout.data(), C, starts.data(), order.data(), b, c);
    rep.check("embedding backward", lrt::rel_err(dtable, want, dtable.size()), 1e-6, "n301 V97 C33");
    ids[7] = V;
    int r = lr::embedding_buckets(ids.data(), n, V, counts.data(), uniq.data(), starts.data(), order.data());
    rep.check("id out of range rejected", r == -1 ? 0.0 : 1.0, 0, "1");
    return rep.finish();
}
