// Token embedding: out[n, :] = table[ids[n], :]; backward dTable[id, :] += sum of dOut rows with
// that id, deterministic without atomics: the host (which has the ids) groups the positions by
// id with a stable counting sort (embedding_buckets), and one GPU thread per (id, column) adds
// its bucket's rows in position order.
#pragma once
#include "common.cuh"

namespace lr {

/**
 * Stable grouping of positions by id. Writes unique_ids[u] (ascending), starts[u..u+1) into
 * order[] (positions, ascending within a bucket); returns the number of distinct ids, or -1 for
 * an id outside [0, vocab). counts must hold vocab ints (scratch, zeroed here).
 */
inline int embedding_buckets(const int* ids, int n, int vocab, int* counts, int* unique_ids, int* starts, int* order) {
    for (int v = 0; v < vocab; v++) counts[v] = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab) return -1;
        counts[ids[i]]++;
    }
    int u = 0, pos = 0;
    for (int v = 0; v < vocab; v++) {
        if (counts[v] == 0) continue;
        unique_ids[u] = v;
        starts[u] = pos;
        int c = counts[v];
        counts[v] = pos;  // becomes the write cursor
        pos += c;
        u++;
    }
    starts[u] = pos;
    for (int i = 0; i < n; i++) order[counts[ids[i]]++] = i;
    return u;
}

/** Column c of bucket u: sum over its positions in order (the GPU thread's loop). */
LR_HD float embedding_bucket_sum(const float* dout, int C, const int* starts, const int* order, int u, int c) {
    float s = 0.0f;
    for (int k = starts[u]; k < starts[u + 1]; k++) s += dout[(long long) order[k] * C + c];
    return s;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

__global__ void embedding_forward_kernel(const float* table, const int* ids, float* out, int n, int C) {
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= (long long) n * C) return;
    int i = (int) (k / C), c = (int) (k % C);
    out[k] = table[(long long) ids[i] * C + c];
}

__global__ void embedding_backward_kernel(float* dtable, const float* dout, int C, const int* unique_ids,
                                          const int* starts, const int* order, int buckets) {
    int u = blockIdx.y;
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (u >= buckets || c >= C) return;
    dtable[(long long) unique_ids[u] * C + c] += embedding_bucket_sum(dout, C, starts, order, u, c);
}

inline void embedding_forward(const float* table, const int* ids, float* out, int n, int C, cudaStream_t st) {
    long long m = (long long) n * C;
    if (m > 0) embedding_forward_kernel<<<ceil_div(m, 256), 256, 0, st>>>(table, ids, out, n, C);
}
/** unique_ids/starts/order on the device, from embedding_buckets. */
inline void embedding_backward(float* dtable, const float* dout, int C, const int* unique_ids, const int* starts,
                               const int* order, int buckets, cudaStream_t st) {
    if (buckets <= 0 || C <= 0) return;
    dim3 grid(ceil_div(C, 128), (unsigned) buckets);
    embedding_backward_kernel<<<grid, 128, 0, st>>>(dtable, dout, C, unique_ids, starts, order, buckets);
}

}  // namespace lr
#endif
