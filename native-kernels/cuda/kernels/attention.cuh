// Causal attention, first step (llm.c's layout): q, k, v [B*T, H*hd] are permuted to
// [B, H, T, hd], S = Q K^T and O = P V are strided-batched products through the cuBLASLt
// wrapper (matmul.cuh), and this file holds the permutes and the causal softmax over rows of
// S [B*H, T, T] (forward P = softmax(scale S) with the causal mask; backward
// dS = scale P (dP - rowsum(dP P))). P is stored (B H T^2 floats): a fused kernel that never
// stores it is the next step, not done.
#pragma once
#include "common.cuh"

namespace lr {

LR_HD float softmax_prob(float s, float scale, MaxSum ms) { return expf(s * scale - ms.m) / ms.s; }
LR_HD float softmax_grad(float p, float dp, float dot, float scale) { return scale * p * (dp - dot); }

/** Row at query position t of a T-wide score row: p_j for j <= t, 0 beyond. */
LR_HD void causal_softmax_row(const float* s, int t, int T, float scale, float* p) {
    MaxSum ms = maxsum_empty();
    for (int j = 0; j <= t; j++) ms = maxsum_add(ms, s[j] * scale);
    for (int j = 0; j < T; j++) p[j] = j <= t ? softmax_prob(s[j], scale, ms) : 0.0f;
}

LR_HD void causal_softmax_backward_row(const float* p, const float* dp, int t, int T, float scale, float* ds) {
    float dot = 0.0f;
    for (int j = 0; j <= t; j++) dot += p[j] * dp[j];
    for (int j = 0; j < T; j++) ds[j] = j <= t ? softmax_grad(p[j], dp[j], dot, scale) : 0.0f;
}

/** Index in [B*T, H*hd] of element (b, h, t, i) of the [B, H, T, hd] layout. */
LR_HD long long bthd_to_rows(long long bhti, int T, int H, int hd) {
    int i = (int) (bhti % hd);
    long long r = bhti / hd;
    int t = (int) (r % T);
    r /= T;
    int h = (int) (r % H);
    long long b = r / H;
    return (b * T + t) * (long long) H * hd + (long long) h * hd + i;
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

// One warp per row of S [B*H*T, T].
__global__ void causal_softmax_kernel(const float* s, float* p, long long rows, int T, float scale) {
    long long row = blockIdx.x * (long long) (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    int t = (int) (row % T);
    const float* sr = s + row * T;
    MaxSum ms = maxsum_empty();
    for (int j = lane; j <= t; j += 32) ms = maxsum_add(ms, sr[j] * scale);
    ms = warp_maxsum(ms);
    float* pr = p + row * T;
    for (int j = lane; j < T; j += 32) pr[j] = j <= t ? softmax_prob(sr[j], scale, ms) : 0.0f;
}

__global__ void causal_softmax_backward_kernel(const float* p, const float* dp, float* ds, long long rows, int T,
                                               float scale) {
    long long row = blockIdx.x * (long long) (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    int t = (int) (row % T);
    const float* pr = p + row * T;
    const float* gr = dp + row * T;
    float dot = 0.0f;
    for (int j = lane; j <= t; j += 32) dot += pr[j] * gr[j];
    dot = warp_sum(dot);
    float* o = ds + row * T;
    for (int j = lane; j < T; j += 32) o[j] = j <= t ? softmax_grad(pr[j], gr[j], dot, scale) : 0.0f;
}

// [B*T, H*hd] -> [B, H, T, hd] (forward) or back (inverse); accumulate adds into dst.
__global__ void permute_kernel(const float* src, float* dst, long long n, int T, int H, int hd, bool inverse,
                               bool accumulate) {
    long long k = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (k >= n) return;
    long long r = bthd_to_rows(k, T, H, hd);
    if (!inverse) dst[k] = src[r];
    else if (accumulate) dst[r] += src[k];
    else dst[r] = src[k];
}

inline void causal_softmax(const float* s, float* p, long long rows, int T, float scale, cudaStream_t st) {
    if (rows > 0) causal_softmax_kernel<<<ceil_div(rows, 8), 256, 0, st>>>(s, p, rows, T, scale);
}
/** ds may alias dp. */
inline void causal_softmax_backward(const float* p, const float* dp, float* ds, long long rows, int T, float scale,
                                    cudaStream_t st) {
    if (rows > 0) causal_softmax_backward_kernel<<<ceil_div(rows, 8), 256, 0, st>>>(p, dp, ds, rows, T, scale);
}
inline void permute_to_heads(const float* rows_layout, float* heads_layout, int B, int T, int H, int hd, cudaStream_t st) {
    long long n = (long long) B * T * H * hd;
    if (n > 0) permute_kernel<<<ceil_div(n, 256), 256, 0, st>>>(rows_layout, heads_layout, n, T, H, hd, false, false);
}
inline void permute_from_heads(const float* heads_layout, float* rows_layout, int B, int T, int H, int hd,
                               bool accumulate, cudaStream_t st) {
    long long n = (long long) B * T * H * hd;
    if (n > 0) permute_kernel<<<ceil_div(n, 256), 256, 0, st>>>(heads_layout, rows_layout, n, T, H, hd, true, accumulate);
}

}  // namespace lr
#endif
