// RMSNorm over rows of x [rows, d]: inv = 1/sqrt(mean x^2 + eps), out = w x inv (inv saved);
// backward: dx = inv (dout w) - x inv^3 (sum dout w x) / d (writes), dw += sum_r dout x inv
// (accumulates; one thread per column over the rows in order: deterministic, no atomics).
#pragma once
#include "common.cuh"

namespace lr {

LR_HD float rms_inv(float sum_squares, int d, float eps) { return 1.0f / sqrtf(sum_squares / (float) d + eps); }
LR_HD float rmsnorm_out(float x, float w, float inv) { return w * (x * inv); }
/** dx_i given the row's c = inv^3 * (sum_j dout_j w_j x_j) / d. */
LR_HD float rmsnorm_dx(float x, float w, float dout, float inv, float c) { return inv * (dout * w) - x * c; }
LR_HD float rmsnorm_dx_coef(float inv, float dot, int d) { return inv * inv * inv * dot / (float) d; }

/** One row, sequentially (the host test composes the same pieces the kernels use). */
LR_HD float rmsnorm_forward_row(const float* x, const float* w, int d, float eps, float* out) {
    float ss = 0.0f;
    for (int i = 0; i < d; i++) ss += x[i] * x[i];
    float inv = rms_inv(ss, d, eps);
    for (int i = 0; i < d; i++) out[i] = rmsnorm_out(x[i], w[i], inv);
    return inv;
}

LR_HD void rmsnorm_backward_row(const float* x, const float* w, float inv, const float* dout, int d, float* dx) {
    float dot = 0.0f;
    for (int i = 0; i < d; i++) dot += dout[i] * w[i] * x[i];
    float c = rmsnorm_dx_coef(inv, dot, d);
    for (int i = 0; i < d; i++) dx[i] = rmsnorm_dx(x[i], w[i], dout[i], inv, c);
}

}  // namespace lr

#if LR_DEVICE_CODE
namespace lr {

// One warp per row.
__global__ void rmsnorm_forward_kernel(const float* x, const float* w, float* out, float* inv_out, int rows, int d,
                                       float eps) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float* xr = x + (long long) row * d;
    float ss = 0.0f;
    for (int i = lane; i < d; i += 32) ss += xr[i] * xr[i];
    ss = warp_sum(ss);
    float inv = rms_inv(ss, d, eps);
    float* o = out + (long long) row * d;
    for (int i = lane; i < d; i += 32) o[i] = rmsnorm_out(xr[i], w[i], inv);
    if (lane == 0) inv_out[row] = inv;
}

__global__ void rmsnorm_backward_dx_kernel(const float* x, const float* w, const float* inv, const float* dout,
                                           float* dx, int rows, int d) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float* xr = x + (long long) row * d;
    const float* gr = dout + (long long) row * d;
    float dot = 0.0f;
    for (int i = lane; i < d; i += 32) dot += gr[i] * w[i] * xr[i];
    dot = warp_sum(dot);
    float r = inv[row];
    float c = rmsnorm_dx_coef(r, dot, d);
    float* o = dx + (long long) row * d;
    for (int i = lane; i < d; i += 32) o[i] = rmsnorm_dx(xr[i], w[i], gr[i], r, c);
}

__global__ void rmsnorm_backward_dw_kernel(const float* x, const float* inv, const float* dout, float* dw, int rows,
                                           int d) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += dout[(long long) r * d + j] * x[(long long) r * d + j] * inv[r];
    dw[j] += s;
}

inline void rmsnorm_forward(const float* x, const float* w, float* out, float* inv, int rows, int d, float eps,
                            cudaStream_t st) {
    if (rows > 0) rmsnorm_forward_kernel<<<ceil_div(rows, 8), 256, 0, st>>>(x, w, out, inv, rows, d, eps);
}
/** dx may alias dout: the dw pass runs first, and the dx pass reads a row before it writes it. */
inline void rmsnorm_backward(const float* x, const float* w, const float* inv, const float* dout, float* dx, float* dw,
                             int rows, int d, cudaStream_t st) {
    if (rows <= 0) return;
    rmsnorm_backward_dw_kernel<<<ceil_div(d, 256), 256, 0, st>>>(x, inv, dout, dw, rows, d);
    rmsnorm_backward_dx_kernel<<<ceil_div(rows, 8), 256, 0, st>>>(x, w, inv, dout, dx, rows, d);
}

}  // namespace lr
#endif
