// Fused classifier (llm.c's fused_classifier): per row of logits [rows, V] with target t,
// loss_r = log S + m - x_t and the logits are replaced in place by
// scale (softmax - onehot(t)); probabilities are never stored. The target entry is
// -scale (S - e_t) / S with S - e_t summed directly over the other entries (a second MaxSum that
// skips t): scale (p_t - 1) in float cancels when p_t ~ 1, and so would S - e_t in float (the CPU
// kernel sums in double instead). Rows with t == ignore_index: zeros, loss 0. Losses go to loss[rows]; the caller sums
// them in row order (deterministic).
#pragma once
#include "common.cuh"

namespace lr {

/** dlogit of a non-target entry; ms over the whole row. */
LR_HD float ce_dlogit(float x, MaxSum ms, float scale) { return expf(x - ms.m) * (scale / ms.s); }
/** dlogit of the target: -scale (sum of the other exps) / S; others = MaxSum of the row without t. */
LR_HD float ce_dlogit_target(MaxSum others, MaxSum all, float scale) {
    return others.s == 0.0f ? 0.0f : -scale * (others.s * expf(others.m - all.m) / all.s);
}
LR_HD float ce_loss(float x_t, MaxSum ms) { return logf(ms.s) + ms.m - x_t; }

/** One row on the host, sequentially; returns the loss. */
LR_HD float cross_entropy_row(float* x, int V, int t, int ignore_index, float scale) {
    if (t == ignore_index) {
        for (int j = 0; j < V; j++) x[j] = 0.0f;
        return 0.0f;
    }
    MaxSum others = maxsum_empty();
    for (int j = 0; j < V; j++)
        if (j != t) others = maxsum_add(others, x[j]);
    MaxSum ms = maxsum_add(others, x[t]);
    float loss = ce_loss(x[t], ms);
    float dt = ce_dlogit_target(others, ms, scale);
    for (int j = 0; j < V; j++) x[j] = j == t ? dt : ce_dlogit(x[j], ms, scale);
    return loss;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

// One block (256 threads) per row: warp merges, then the 8 warp results merged by warp 0.
__global__ void cross_entropy_kernel(float* logits, const int* targets, float* loss, int rows, int V, int ignore_index,
                                     float scale) {
    int row = blockIdx.x;
    if (row >= rows) return;
    float* x = logits + (long long) row * V;
    int t = targets[row];
    if (t == ignore_index) {
        for (int j = threadIdx.x; j < V; j += blockDim.x) x[j] = 0.0f;
        if (threadIdx.x == 0) loss[row] = 0.0f;
        return;
    }
    __shared__ float sm[32], ss[32];
    __shared__ float x_t;
    MaxSum ms = maxsum_empty();  // over the row without the target
    for (int j = threadIdx.x; j < V; j += blockDim.x)
        if (j != t) ms = maxsum_add(ms, x[j]);
    ms = warp_maxsum(ms);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    if (lane == 0) { sm[warp] = ms.m; ss[warp] = ms.s; }
    if (threadIdx.x == 0) x_t = x[t];
    __syncthreads();
    ms = lane < warps ? MaxSum{sm[lane], ss[lane]} : maxsum_empty();
    MaxSum others = warp_maxsum(ms);  // every warp computes the same total
    MaxSum all = maxsum_add(others, x_t);
    if (threadIdx.x == 0) loss[row] = ce_loss(x_t, all);
    float dt = ce_dlogit_target(others, all, scale);
    for (int j = threadIdx.x; j < V; j += blockDim.x) x[j] = j == t ? dt : ce_dlogit(x[j], all, scale);
}

inline void cross_entropy(float* logits, const int* targets, float* loss, int rows, int V, int ignore_index,
                          float scale, cudaStream_t st) {
    if (rows > 0) cross_entropy_kernel<<<rows, 256, 0, st>>>(logits, targets, loss, rows, V, ignore_index, scale);
}

}  // namespace lr
#endif
